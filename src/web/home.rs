//! The front page: what this service is, the trials open for sign-up, the technique library
//! and the way in for organisers.
use actix_web::{get, web};

use crate::app;
use crate::store::techniques::OpenTrial;
use crate::store::Store;
use crate::web::errors::PageError;
use crate::web::pages::render;

#[derive(askama::Template)]
#[template(path = "home.html")]
struct HomePage {
    trials: Vec<OpenTrial>,
}

#[get("/")]
pub async fn home(store: web::Data<Store>) -> Result<actix_web::HttpResponse, PageError> {
    let trials = app::home::open_trials(&store).await?;
    Ok(render(&HomePage { trials }))
}
