//! Public pages of an event: the printable poster with its QR code, and each person's own
//! page on their phone ("I'm here", then their partner and table).
use actix_web::http::StatusCode;
use actix_web::web::{self, Data, Path};
use actix_web::HttpResponse;
use askama::Template;
use chrono::Utc;

use crate::app::events::{self, PhoneView};
use crate::links::link;
use crate::store::trials::Trial;
use crate::store::Store;
use crate::web::admin::see_other;
use crate::web::csrf::CsrfToken;
use crate::web::pages::{internal_error, message, render};
use crate::web::WebSettings;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/t/{slug}/poster", web::get().to(poster))
        .route("/e/{token}", web::get().to(phone_page))
        .route("/e/{token}/here", web::post().to(im_here));
}

#[derive(Template)]
#[template(path = "public/poster.html")]
struct PosterPage {
    trial: Trial,
    /// The sign-up address in full, as the QR code holds it.
    address: String,
    /// The same without the scheme, for people to type.
    short_address: String,
    qr_svg: String,
}

#[derive(Template)]
#[template(path = "public/event_phone.html")]
struct PhonePage {
    csrf: CsrfToken,
    token: String,
    view: PhoneView,
    refresh_seconds: u32,
}

fn link_gone() -> HttpResponse {
    message(
        StatusCode::GONE,
        "This link no longer works",
        "Your event page is no longer available. Ask the organisers at the event: they can check you in from their list.",
    )
}

async fn poster(
    store: Data<Store>,
    settings: Data<WebSettings>,
    slug: Path<String>,
) -> HttpResponse {
    let trial = match store.find_trial(&slug).await {
        Ok(Some(t)) => t,
        Ok(None) => {
            return message(
                StatusCode::NOT_FOUND,
                "No such trial",
                "There is no coffee trial at this address. Check the link you were given.",
            )
        }
        Err(e) => return internal_error(e),
    };
    let address = link(&settings.base_url, &format!("/t/{}", trial.slug));
    let short_address = address
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .to_string();
    let qr_svg = match events::qr_svg(&address) {
        Ok(svg) => svg,
        Err(e) => return internal_error(anyhow::anyhow!("QR code for {address}: {e}")),
    };
    render(&PosterPage {
        trial,
        address,
        short_address,
        qr_svg,
    })
}

async fn phone_page(store: Data<Store>, csrf: CsrfToken, token: Path<String>) -> HttpResponse {
    match events::phone_view(&store, &token, Utc::now()).await {
        Ok(Some(view)) => render(&PhonePage {
            csrf,
            token: token.into_inner(),
            // Quick enough to show a new round while people are still finding their table.
            refresh_seconds: if view.left { 0 } else { 20 },
            view,
        }),
        Ok(None) => link_gone(),
        Err(e) => internal_error(e),
    }
}

async fn im_here(store: Data<Store>, token: Path<String>) -> HttpResponse {
    match events::im_here(&store, &token, Utc::now()).await {
        Ok(true) => see_other(&format!("/e/{token}")),
        Ok(false) => link_gone(),
        Err(e) => internal_error(e),
    }
}
