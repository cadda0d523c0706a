//! Synthetic, deterministic import files for load tests and demos: fictional operators
//! with valid corporate numbers, spread over sectors and domains roughly as the real
//! registers are (many banks, hospitals, local governments and utilities; few ports),
//! about 1.5 designations per operator.

use std::io::Write;

use chrono::{Duration, NaiveDate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::domain::import::COLUMNS;
use crate::domain::reference::ReferenceSnapshot;
use crate::domain::{CorporateNumber, Regime};

/// Synthetic operators get corporate numbers from this base upwards.
const FIRST_BASE: u64 = 800_000_000_000;
const LAST_START: &str = "2026-06-30";
const CI_EARLIEST: &str = "2015-04-01";
const CI_BASIS: &str = "重要インフラのサイバーセキュリティに係る行動計画";
const ESPA_BASIS: &str = "経済安全保障推進法第50条第1項";

/// Relative weights: how common operators of each field are.
const CI_WEIGHTS: [(&str, u32); 15] = [
    ("information-communications", 8),
    ("finance", 14),
    ("aviation", 2),
    ("airports", 1),
    ("railways", 4),
    ("electricity", 6),
    ("gas", 4),
    ("government-services", 16),
    ("medical", 14),
    ("water", 12),
    ("logistics", 8),
    ("chemicals", 3),
    ("credit", 3),
    ("petroleum", 2),
    ("ports", 1),
];
const ESPA_WEIGHTS: [(&str, u32); 15] = [
    ("electricity", 12),
    ("gas", 6),
    ("petroleum", 4),
    ("water", 10),
    ("railways", 6),
    ("trucking", 10),
    ("ocean-shipping", 5),
    ("port-transport", 3),
    ("aviation", 2),
    ("airports", 2),
    ("telecommunications", 12),
    ("broadcasting", 5),
    ("postal", 1),
    ("finance", 16),
    ("credit-cards", 6),
];

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("cannot write the file: {0}")]
    Write(#[from] std::io::Error),
    #[error("cannot write CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("the reference data lacks {0}")]
    Reference(String),
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap_or_default()
}

fn pick<'a>(rng: &mut ChaCha8Rng, weights: &'a [(&'a str, u32)]) -> &'a str {
    let total: u32 = weights.iter().map(|(_, w)| w).sum();
    let mut roll = rng.random_range(0..total);
    for (code, weight) in weights {
        if roll < *weight {
            return code;
        }
        roll -= weight;
    }
    weights[0].0
}

/// Writes `operators` synthetic operators (same `seed`, same file) as an import CSV.
/// Returns the number of designation rows.
pub fn generate(
    snapshot: &ReferenceSnapshot,
    operators: u64,
    seed: u64,
    out: impl Write,
) -> Result<u64, GenerateError> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(COLUMNS)?;
    let mut rows = 0u64;
    for i in 1..=operators {
        let number = CorporateNumber::from_base(FIRST_BASE + i)
            .ok_or_else(|| GenerateError::Reference("room for that many corporate numbers".into()))?;
        let name_ja = format!("（架空）合成事業者{i:07}");
        let name_en = format!("Synthetic operator {i:07} (fictional)");
        // 35 % CI only, 20 % ESPA only, 35 % both, 10 % both plus another CI sector.
        let roll = rng.random_range(0..100);
        let mut wanted: Vec<(Regime, &str)> = Vec::new();
        if !(35..55).contains(&roll) {
            wanted.push((Regime::Ci, pick(&mut rng, &CI_WEIGHTS)));
        }
        if roll >= 35 {
            // Most operators in both regimes are in a linked pair.
            let linked = wanted.first().and_then(|(_, sector)| {
                let domains = snapshot.data().links.iter().filter(|l| l.ci == *sector).map(|l| l.espa.as_str());
                let domains: Vec<&str> = domains.collect();
                (!domains.is_empty() && rng.random_range(0..10) < 7)
                    .then(|| domains[rng.random_range(0..domains.len())])
            });
            wanted.push((Regime::Espa, linked.unwrap_or_else(|| pick(&mut rng, &ESPA_WEIGHTS))));
        }
        if roll >= 90 {
            let extra = pick(&mut rng, &CI_WEIGHTS);
            if !wanted.contains(&(Regime::Ci, extra)) {
                wanted.push((Regime::Ci, extra));
            }
        }
        for (k, (regime, field)) in wanted.into_iter().enumerate() {
            let record = snapshot
                .field(regime, field)
                .ok_or_else(|| GenerateError::Reference(format!("{} \"{field}\"", regime.field_noun())))?;
            let floor = match regime {
                Regime::Ci => date(CI_EARLIEST),
                Regime::Espa => NaiveDate::MIN,
            };
            let earliest = record.validity.from.unwrap_or(floor).max(floor);
            let span = (date(LAST_START) - earliest).num_days().max(1);
            let from = earliest + Duration::days(rng.random_range(0..span));
            let to = (rng.random_range(0..10) == 0).then(|| from + Duration::days(rng.random_range(180..1500)));
            let items = snapshot.items_of(regime, field, Some(from));
            let item = (!items.is_empty() && rng.random_range(0..4) == 0)
                .then(|| snapshot.items(regime)[items[rng.random_range(0..items.len())]].code.clone());
            let basis = match regime {
                Regime::Ci => CI_BASIS,
                Regime::Espa => ESPA_BASIS,
            };
            writer.write_record([
                number.to_string(),
                name_ja.clone(),
                name_en.clone(),
                regime.as_str().to_owned(),
                field.to_owned(),
                item.unwrap_or_default(),
                from.to_string(),
                to.map(|t| t.to_string()).unwrap_or_default(),
                basis.to_owned(),
                format!("GEN-{i:07}-{k}"),
            ])?;
            rows += 1;
        }
    }
    writer.flush()?;
    Ok(rows)
}
