//! The organisers' console: server-rendered pages that work without JavaScript.
use actix_web::middleware::from_fn;
use actix_web::web;

pub mod account;
pub mod api;
pub mod dashboard;
pub mod events;
pub mod exports;
pub mod import;
pub mod organisers;
pub mod outbox;
pub mod participants;
pub mod recovery;
pub mod rounds;
pub mod techniques;
pub mod trials;
pub mod webhooks;

/// The console under `/admin` and the organisers' JSON API under `/api/v1`.
///
/// Access is part of routing: every organiser route is mounted inside a scope whose guard
/// runs on the path the router matched, so a handler added to `console` or `api` cannot be
/// reached without an organiser. Only sign-in and the account-creating links sit outside.
/// Public JSON routes (`/api/v1/techniques`, `/api/v1/public/`) are registered before this,
/// so they match first; one registered after would be refused, never opened.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/admin")
            .service(account::login_form)
            .service(account::login)
            .service(account::setup_form)
            .service(account::setup)
            .service(account::invite_form)
            .service(account::invite)
            .service(recovery::forgot_form)
            .service(recovery::forgot)
            .service(recovery::reset_form)
            .service(recovery::reset)
            .service(
                web::scope("")
                    .wrap(from_fn(crate::web::auth::require_console))
                    .configure(console),
            ),
    )
    .service(
        web::scope("/api/v1")
            .wrap(from_fn(crate::web::auth::require_api))
            .configure(api),
    );
}

/// Console pages, relative to `/admin`.
fn console(cfg: &mut web::ServiceConfig) {
    cfg.service(account::logout)
        .service(account::tokens_page)
        .service(account::create_token)
        .service(account::revoke_token)
        .service(account::invite_page)
        .service(account::send_invite)
        .service(organisers::list)
        .service(organisers::disable)
        .service(organisers::enable)
        .service(organisers::trial_organisers)
        .service(organisers::change_trial_organisers)
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
        .service(rounds::confirm_publish)
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
    webhooks::routes(cfg);
}

/// The organisers' JSON API, relative to `/api/v1`.
fn api(cfg: &mut web::ServiceConfig) {
    api::routes(cfg);
    participants::api::routes(cfg);
    exports::api_routes(cfg);
    organisers::api_routes(cfg);
    webhooks::api_routes(cfg);
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

    /// The attributes that tie a form field to its hint (`hint`, an element id, or "") and to
    /// its message from `templates/admin/field_error.html`, for `{{ errors.aria(..)|safe }}`
    /// inside the field's tag. Unescaped output is safe: both arguments are words written in
    /// our own templates, never input.
    pub fn aria(&self, field: &str, hint: &str) -> String {
        let error = self.get(field).map(|_| format!("{field}-error"));
        let ids: Vec<&str> = [Some(hint), error.as_deref()]
            .into_iter()
            .flatten()
            .filter(|id| !id.is_empty())
            .collect();
        let mut attributes = String::new();
        if !ids.is_empty() {
            attributes.push_str(&format!(" aria-describedby=\"{}\"", ids.join(" ")));
        }
        if error.is_some() {
            attributes.push_str(" aria-invalid=\"true\"");
        }
        attributes
    }
}

/// A redirect after a successful POST, so that reloading does not submit again.
pub fn see_other(location: &str) -> actix_web::HttpResponse {
    actix_web::HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, location.to_string()))
        .finish()
}

#[cfg(test)]
mod tests {
    use super::Errors;

    #[test]
    fn a_field_with_an_error_points_at_its_hint_and_its_message() {
        let errors = Errors::one("slug", "already taken");
        assert_eq!(
            errors.aria("slug", "slug-hint"),
            r#" aria-describedby="slug-hint slug-error" aria-invalid="true""#
        );
        assert_eq!(
            errors.aria("slug", ""),
            r#" aria-describedby="slug-error" aria-invalid="true""#
        );
        assert_eq!(
            errors.aria("name", "name-hint"),
            r#" aria-describedby="name-hint""#
        );
        assert_eq!(errors.aria("name", ""), "");
    }
}
