//! Building and running the service: used by `main` and by the tests, which bind port 0.
use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web::Data, App, HttpServer};
use tracing_actix_web::TracingLogger;

use crate::app::limits::{RateLimits, SignInLimiter};
use crate::config::{ConfigError, Settings};
use crate::mail::transport::Transport;
use crate::mail::worker::{Worker, WorkerConfig};
use crate::store::{Store, StoreError};
use crate::web::auth::SessionKey;
use crate::web::{canonical, csrf, routes, RequestSpan, WebSettings};

pub struct Application {
    port: u16,
    server: Server,
    store: Store,
    // None when `Settings::background_loops` is off.
    worker: Option<Worker>,
    scheduler: Option<crate::app::schedule::Scheduler>,
    webhooks: Option<crate::webhooks::WebhookWorker>,
    /// `/metrics` on `METRICS_BIND`, with its port.
    metrics_server: Option<(Server, u16)>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("DATABASE_URL: {0}")]
    Database(#[source] StoreError),
    #[error("BIND: cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Setting(#[from] ConfigError),
}

impl Application {
    /// Connects to and migrates the database, then binds the listener. Nothing is served
    /// until [`Application::run_until_stopped`].
    pub async fn build(settings: &Settings) -> Result<Self, StartupError> {
        let store = Store::connect(&settings.database_url)
            .await
            .map_err(StartupError::Database)?;
        store.migrate().await.map_err(StartupError::Database)?;
        let mut worker_config = WorkerConfig::from_settings(settings);
        let foreground = crate::mail::foreground::Foreground::default();
        worker_config.give_way.foreground = foreground.clone();
        let transport = Transport::from_settings(settings, worker_config.senders as u32)?;
        let listener = TcpListener::bind(settings.bind).map_err(|source| StartupError::Bind {
            addr: settings.bind,
            source,
        })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartupError::Bind {
                addr: settings.bind,
                source,
            })?
            .port();
        let session_key = Data::new(
            SessionKey::load(&store)
                .await
                .map_err(StartupError::Database)?,
        );
        let rate_limits = RateLimits::load(&store)
            .await
            .map_err(StartupError::Database)?;
        let limiter = Data::new(SignInLimiter::new(
            rate_limits.clone(),
            settings.sign_in_ceiling_per_hour,
            settings.base_url.clone(),
        ));
        // The counting core itself, for limits that live with their use case (the
        // do-not-pair search).
        let shared_limits = Data::new(rate_limits.clone());
        let signup_desk = Data::new(crate::app::signups::SignUpDesk::start(
            &store,
            rate_limits,
            settings.signup_limit_per_ip,
            settings.signup_limit_per_email,
            settings.base_url.clone(),
            foreground,
        ));
        let trusted_proxies = Data::new(settings.trusted_proxies.clone());
        let dashboards = Data::new(crate::app::dashboard::DashboardCache::new());
        let webhook_policy = Data::new(crate::app::webhooks::WebhookPolicy {
            allow_http_loopback: settings.webhooks_allow_http_loopback,
        });
        let data = Data::new(store.clone());
        let web_settings = Data::new(
            WebSettings::new(settings.base_url.clone(), settings.smtp_url.is_some())
                .with_mail_from(settings.mail_from.clone()),
        );
        crate::web::metrics::install_with_upkeep();
        let metrics_access = Data::new(crate::web::metrics::MetricsAccess {
            token: settings.metrics_token.clone(),
            served: settings.metrics_token.is_some(),
        });
        let metrics_server = match settings.metrics_bind {
            Some(addr) => Some(metrics_server(addr, &data, settings.metrics_token.clone())?),
            None => None,
        };
        let server = HttpServer::new(move || {
            App::new()
                .wrap(from_fn(crate::web::input_guard::middleware))
                .wrap(from_fn(csrf::middleware))
                .wrap(from_fn(canonical::middleware))
                .wrap(TracingLogger::<RequestSpan>::new())
                .wrap(from_fn(crate::web::headers::middleware))
                .wrap(from_fn(crate::web::metrics::middleware))
                .app_data(data.clone())
                .app_data(metrics_access.clone())
                .app_data(web_settings.clone())
                .app_data(session_key.clone())
                .app_data(limiter.clone())
                .app_data(signup_desk.clone())
                .app_data(shared_limits.clone())
                .app_data(dashboards.clone())
                .app_data(trusted_proxies.clone())
                .app_data(webhook_policy.clone())
                .configure(routes)
        })
        .listen(listener)
        .map_err(|source| StartupError::Bind {
            addr: settings.bind,
            source,
        })?
        .run();
        tracing::info!(
            transport = %transport.describe(),
            // The domain only: logs carry no email addresses.
            from_domain = %settings.mail_from.email.domain(),
            "email delivery"
        );
        let webhooks = settings.background_loops.then(|| {
            crate::webhooks::WebhookWorker::start(
                store.clone(),
                crate::webhooks::WebhookConfig::from_settings(settings),
            )
        });
        let (worker, scheduler) = if settings.background_loops {
            let worker = Worker::start(store.clone(), transport, worker_config);
            let scheduler = crate::app::schedule::Scheduler::start(
                store.clone(),
                settings.base_url.clone(),
                crate::mail::pairing::Organiser::from_mailbox(&settings.mail_from),
                settings.scheduler_interval,
                crate::app::retention::Retention::new(crate::app::retention::Policy {
                    outbox_retention_days: settings.outbox_retention_days,
                }),
            );
            (Some(worker), Some(scheduler))
        } else {
            (None, None)
        };
        Ok(Self {
            port,
            server,
            store,
            worker,
            scheduler,
            webhooks,
            metrics_server,
        })
    }

    /// The port of `METRICS_BIND`'s listener, when it is set.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_server.as_ref().map(|(_, port)| *port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Serves until SIGINT or SIGTERM; actix then stops accepting connections and lets the
    /// requests in flight finish, and the outbox worker finishes the messages in hand, before
    /// this returns.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let metrics = self.metrics_server.map(|(server, _)| {
            let handle = server.handle();
            (handle, tokio::spawn(server))
        });
        let served = self.server.await;
        if let Some((handle, task)) = metrics {
            handle.stop(true).await;
            let _ = task.await;
        }
        if let Some(scheduler) = self.scheduler {
            scheduler.stop().await;
        }
        if let Some(webhooks) = self.webhooks {
            webhooks.stop().await;
        }
        if let Some(worker) = self.worker {
            worker.stop().await;
        }
        served
    }
}

/// A server of its own for `/metrics` on `METRICS_BIND`: one worker, nothing else served.
fn metrics_server(
    addr: std::net::SocketAddr,
    store: &Data<Store>,
    token: Option<String>,
) -> Result<(Server, u16), StartupError> {
    let bind_err = |source| StartupError::Bind { addr, source };
    let listener = TcpListener::bind(addr).map_err(bind_err)?;
    let port = listener.local_addr().map_err(bind_err)?.port();
    let access = Data::new(crate::web::metrics::MetricsAccess {
        token,
        served: true,
    });
    let store = store.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(store.clone())
            .app_data(access.clone())
            .service(crate::web::metrics::metrics)
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .map_err(bind_err)?
    .run();
    Ok((server, port))
}
