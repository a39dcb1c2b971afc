//! The organisers' console: server-rendered pages that work without JavaScript.
use actix_web::web;

pub mod account;
pub mod api;
pub mod dashboard;
pub mod events;
pub mod exports;
pub mod import;
pub mod outbox;
pub mod participants;
pub mod rounds;
pub mod techniques;
pub mod trials;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(account::login_form)
        .service(account::login)
        .service(account::logout)
        .service(account::setup_form)
        .service(account::setup)
        .service(account::invite_form)
        .service(account::invite)
        .service(account::tokens_page)
        .service(account::create_token)
        .service(account::revoke_token)
        .service(account::invite_page)
        .service(account::send_invite)
        .service(trials::index)
        .service(trials::new_form)
        .service(trials::create)
        .service(trials::show)
        .service(trials::update)
        .service(rounds::list)
        .service(rounds::start)
        .service(rounds::show)
        .service(rounds::reshuffle)
        .service(rounds::swap)
        .service(rounds::publish)
        .service(rounds::discard)
        .service(techniques::list)
        .service(techniques::new_form)
        .service(techniques::create)
        .service(techniques::edit_form)
        .service(techniques::update);
    participants::routes(cfg);
    events::routes(cfg);
    import::routes(cfg);
    outbox::routes(cfg);
    dashboard::routes(cfg);
    exports::routes(cfg);
    api::routes(cfg);
}

/// Field errors of a form, looked up by field name in templates.
#[derive(Clone, Debug, Default)]
pub struct Errors(pub Vec<crate::domain::FieldError>);

impl Errors {
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn one(field: &'static str, message: impl Into<String>) -> Self {
        Self(vec![crate::domain::FieldError::new(field, message)])
    }
}

/// A redirect after a successful POST, so that reloading does not submit again.
pub fn see_other(location: &str) -> actix_web::HttpResponse {
    actix_web::HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, location.to_string()))
        .finish()
}
