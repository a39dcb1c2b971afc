//! A trial's dashboard in the console: who takes part, how the rounds went, who met whom, and
//! the takeaways people chose to share. The figures come from `insight`; this only renders.
use actix_web::web::Data;
use actix_web::{get, HttpResponse};
use askama::Template;

use crate::app::dashboard::DashboardCache;
use crate::insight::{self, RoundStats, Stats};
use crate::store::trials::Trial;
use crate::store::Store;
use crate::web::csrf::CsrfToken;
use crate::web::errors::PageError;
use crate::web::pages::render;
use crate::web::trial_in_path::TrialInPath;

pub fn routes(cfg: &mut actix_web::web::ServiceConfig) {
    cfg.service(show);
}

#[derive(Template)]
#[template(path = "admin/dashboard.html")]
struct DashboardPage {
    csrf: CsrfToken,
    trial: Trial,
    stats: Stats,
    totals: RoundStats,
    meetings_svg: Option<String>,
    ratings_svg: Option<String>,
    heatmap_svg: Option<String>,
}

impl DashboardPage {
    fn attribute(&self) -> &str {
        match self.trial.attribute_name.trim() {
            "" => "group",
            name => name,
        }
    }

    fn met_share(&self, r: &RoundStats) -> String {
        r.met_share()
            .map_or_else(|| "no answers".to_string(), insight::percent)
    }

    fn average(&self, r: &RoundStats) -> String {
        r.average_rating()
            .map_or_else(|| "none yet".to_string(), insight::one_decimal)
    }

    fn overall_average(&self) -> String {
        self.stats
            .average_rating()
            .map_or_else(|| "none yet".to_string(), insight::one_decimal)
    }

    fn cross_share(&self) -> String {
        self.stats
            .cross_share()
            .map_or_else(|| "no connections yet".to_string(), insight::percent)
    }

    fn has_rounds(&self) -> bool {
        !self.stats.rounds.is_empty()
    }
}

#[get("/trials/{slug}/dashboard")]
pub async fn show(
    store: Data<Store>,
    cache: Data<DashboardCache>,
    csrf: CsrfToken,
    TrialInPath(trial): TrialInPath,
) -> Result<HttpResponse, PageError> {
    let stats = crate::app::dashboard::stats(&store, &cache, &trial).await?;
    Ok(render(&DashboardPage {
        meetings_svg: insight::meetings_chart("chart-meetings", &stats.rounds),
        ratings_svg: insight::ratings_chart("chart-ratings", &stats.rounds),
        heatmap_svg: insight::heatmap_chart("chart-heatmap", &trial.attribute_name, &stats.heatmap),
        totals: stats.totals(),
        csrf,
        trial,
        stats,
    }))
}
