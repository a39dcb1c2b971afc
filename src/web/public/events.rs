//! Public pages of an event: the printable poster with its QR code, and each person's own
//! page on their phone ("I'm here", then their partner and table), and the part of that page
//! that changes, which the page's script fetches to keep itself current.
use actix_web::http::StatusCode;
use actix_web::web::{self, Data, Path};
use actix_web::HttpResponse;
use askama::Template;
use chrono::Utc;

use crate::app::{
    self,
    events::{self, PhoneView},
};
use crate::links::link;
use crate::store::trials::Trial;
use crate::store::Store;
use crate::web::admin::see_other;
use crate::web::csrf::CsrfToken;
use crate::web::errors::PageError;
use crate::web::pages::render;
use crate::web::WebSettings;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/t/{slug}/poster", web::get().to(poster))
        .route("/e/{token}", web::get().to(phone_page))
        .route("/e/{token}/status", web::get().to(phone_status))
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
    token: String,
    view: PhoneView,
    /// The status, rendered (and escaped) by [`PhoneStatus`]'s own template.
    status: String,
}

/// What changes on the phone page: "I'm here", then the table and partners.
#[derive(Template)]
#[template(path = "public/event_phone_status.html")]
struct PhoneStatus {
    csrf: CsrfToken,
    token: String,
    view: PhoneView,
}

fn link_gone() -> PageError {
    PageError::refused(
        StatusCode::GONE,
        "This link no longer works",
        "Your event page is no longer available. Ask the organisers at the event: they can check you in from their list.",
    )
}

async fn poster(
    store: Data<Store>,
    settings: Data<WebSettings>,
    slug: Path<String>,
) -> Result<HttpResponse, PageError> {
    let trial = app::trials::find(&store, &slug).await?.ok_or_else(|| {
        PageError::refused(
            StatusCode::NOT_FOUND,
            "No such trial",
            "There is no coffee trial at this address. Check the link you were given.",
        )
    })?;
    let address = link(&settings.base_url, &format!("/t/{}", trial.slug));
    let short_address = address
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .to_string();
    let qr_svg = events::qr_svg(&address)
        .map_err(|e| PageError::unexpected(anyhow::anyhow!("QR code for {address}: {e}")))?;
    Ok(render(&PosterPage {
        trial,
        address,
        short_address,
        qr_svg,
    }))
}

async fn phone_status_of(
    store: &Store,
    csrf: CsrfToken,
    token: String,
) -> Result<PhoneStatus, PageError> {
    let view = events::phone_view(store, &token, Utc::now())
        .await
        .map_err(PageError::unexpected)?
        .ok_or_else(link_gone)?;
    Ok(PhoneStatus { csrf, token, view })
}

async fn phone_page(
    store: Data<Store>,
    csrf: CsrfToken,
    token: Path<String>,
) -> Result<HttpResponse, PageError> {
    let status = phone_status_of(&store, csrf, token.into_inner()).await?;
    Ok(render(&PhonePage {
        status: status.render().map_err(PageError::unexpected)?,
        token: status.token,
        view: status.view,
    }))
}

/// The status alone, for the page's script to swap in.
async fn phone_status(
    store: Data<Store>,
    csrf: CsrfToken,
    token: Path<String>,
) -> Result<HttpResponse, PageError> {
    Ok(render(
        &phone_status_of(&store, csrf, token.into_inner()).await?,
    ))
}

async fn im_here(store: Data<Store>, token: Path<String>) -> Result<HttpResponse, PageError> {
    if events::im_here(&store, &token, Utc::now())
        .await
        .map_err(PageError::unexpected)?
    {
        Ok(see_other(&format!("/e/{token}")))
    } else {
        Err(link_gone())
    }
}
