use actix_web::{get, web, HttpResponse};
use serde_json::json;

use crate::app;
use crate::store::Store;

/// The process is up and serving requests.
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") }))
}

/// The database answers; load balancers send no traffic while it does not.
#[get("/readyz")]
pub async fn readyz(store: web::Data<Store>) -> HttpResponse {
    let database = app::system::database(&store);
    match app::system::ready(&store).await {
        Ok(()) => HttpResponse::Ok().json(json!({ "status": "ready", "database": database })),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            HttpResponse::ServiceUnavailable()
                .json(json!({ "status": "unavailable", "database": database }))
        }
    }
}
