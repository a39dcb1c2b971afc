//! "The trial in the path": handlers under `/trials/{slug}` take the trial as an argument
//! instead of looking it up by slug themselves. Whether this organiser may use the trial was
//! decided before the handler runs (`web::access`); these extractors only load it.
use std::future::Future;
use std::pin::Pin;

use actix_web::http::StatusCode;
use actix_web::web::Data;
use actix_web::{dev::Payload, FromRequest, HttpRequest};

use crate::store::trials::Trial;
use crate::store::Store;
use crate::web::errors::{ApiError, PageError};

/// The trial named by `{slug}`, for a console page: an unknown slug gets the 404 page.
pub struct TrialInPath(pub Trial);

/// The trial named by `{slug}`, for the JSON API: an unknown slug gets a 404 on field `slug`.
pub struct ApiTrialInPath(pub Trial);

/// Why the trial could not be loaded, before it is put in a page's or the API's shape.
enum Failure {
    Unknown,
    Store(crate::store::StoreError),
}

async fn load(request: HttpRequest) -> Result<Trial, Failure> {
    let store = request
        .app_data::<Data<Store>>()
        .expect("the store is registered as app data");
    // A route without `{slug}` using this extractor is a programming error; treating it as an
    // unknown trial keeps the answer a 404 rather than a panic.
    let Some(slug) = request.match_info().get("slug") else {
        return Err(Failure::Unknown);
    };
    match crate::app::trials::find(store, slug).await {
        Ok(Some(trial)) => Ok(trial),
        Ok(None) => Err(Failure::Unknown),
        Err(e) => Err(Failure::Store(e)),
    }
}

impl FromRequest for TrialInPath {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            match load(request).await {
                Ok(trial) => Ok(TrialInPath(trial)),
                Err(Failure::Unknown) => Err(PageError::no_such_trial()),
                Err(Failure::Store(e)) => Err(e.into()),
            }
        })
    }
}

impl FromRequest for ApiTrialInPath {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            match load(request).await {
                Ok(trial) => Ok(ApiTrialInPath(trial)),
                Err(Failure::Unknown) => Err(ApiError::field(
                    StatusCode::NOT_FOUND,
                    "slug",
                    "no such trial",
                )),
                Err(Failure::Store(e)) => Err(e.into()),
            }
        })
    }
}
