//! `users sync --from`: one user per record, as NDJSON, a JSON array or CSV (told apart by
//! the first character: `{` NDJSON, `[` array, anything else CSV with a header row).
//!
//! A record is `{"user_id": "user_…", <field>: value, …, "metadata": {…}}` with the field
//! names of [`super::fields`]; a missing field is left alone, `null` removes it. CSV cells
//! are written for people: lists as `a;b`, flags as `a;b` (enabled) or `a=true;b=false`, a
//! cell starting with `[` or `{` as JSON, an empty cell left alone, `null` removes. Every
//! problem of the input is reported at once (record number, key, fix) before anything is
//! written.

use serde_json::{Map, Value};

use super::fields::{Field, Values};

/// One user to write.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// 1-based line (NDJSON, CSV) or element (array) number.
    pub number: usize,
    pub user_id: String,
    pub values: Values,
}

/// A record's number and its object (or why it is not one).
type Numbered = (usize, Result<Map<String, Value>, String>);

/// Parses the whole input; `source` names it in messages.
pub fn parse(text: &str, source: &str) -> Result<Vec<Record>, Vec<String>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let objects: Vec<Numbered> = match text.trim_start().chars().next() {
        None => return Err(vec![format!("{source}: no records; write one user per line (NDJSON), a JSON array or CSV with a header row")]),
        Some('[') => match serde_json::from_str::<Vec<Value>>(text) {
            Ok(items) => items.into_iter().enumerate().map(|(i, v)| (i + 1, as_object(v))).collect(),
            Err(e) => return Err(vec![format!("{source}: not a JSON array of records: {e}")]),
        },
        Some('{') => text
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(i, line)| {
                let parsed = serde_json::from_str::<Value>(line)
                    .map_err(|e| format!("not JSON ({e}); write one JSON object per line"))
                    .and_then(as_object);
                (i + 1, parsed)
            })
            .collect(),
        Some(_) => csv_objects(text).map_err(|e| vec![format!("{source}: {e}")])?,
    };
    let mut records = Vec::new();
    let mut problems = Vec::new();
    let mut seen = std::collections::HashMap::new();
    for (number, object) in objects {
        let at = format!("{source}: record {number}");
        let object = match object {
            Ok(o) => o,
            Err(why) => {
                problems.push(format!("{at}: {why}"));
                continue;
            }
        };
        let user_id = match object.get("user_id").and_then(Value::as_str).map(str::trim) {
            Some(id) if !id.is_empty() => id.to_string(),
            _ => {
                problems.push(format!(
                    "{at}: no \"user_id\"; every record names the Clerk user (user_…) it writes"
                ));
                continue;
            }
        };
        if let Some(first) = seen.insert(user_id.clone(), number) {
            problems.push(format!("{at}: user {user_id} was already given in record {first}; keep one record per user"));
            continue;
        }
        match Values::from_object(&object, &["user_id"]) {
            Ok(values) => records.push(Record {
                number,
                user_id,
                values,
            }),
            Err(why) => problems.extend(why.into_iter().map(|w| format!("{at} ({user_id}): {w}"))),
        }
    }
    if problems.is_empty() {
        Ok(records)
    } else {
        Err(problems)
    }
}

fn as_object(value: Value) -> Result<Map<String, Value>, String> {
    match value {
        Value::Object(map) => Ok(map),
        _ => Err("not a JSON object; write {\"user_id\": \"user_…\", …}".into()),
    }
}

/// CSV rows as objects keyed by the header, cells converted per field.
fn csv_objects(text: &str) -> Result<Vec<Numbered>, String> {
    let rows = csv_rows(text)?;
    let mut rows = rows.into_iter();
    let Some((_, header)) = rows.next() else {
        return Err("no header row".into());
    };
    let header: Vec<String> = header.iter().map(|h| h.trim().to_string()).collect();
    Ok(rows
        .filter(|(_, cells)| cells.iter().any(|c| !c.trim().is_empty()))
        .map(|(line, cells)| {
            if cells.len() != header.len() {
                return (
                    line,
                    Err(format!(
                        "{} cells for {} columns; quote cells holding commas",
                        cells.len(),
                        header.len()
                    )),
                );
            }
            let mut object = Map::new();
            for (name, cell) in header.iter().zip(cells) {
                let cell = cell.trim();
                if cell.is_empty() {
                    continue;
                }
                match csv_cell(name, cell) {
                    Ok(value) => {
                        object.insert(name.clone(), value);
                    }
                    Err(why) => return (line, Err(format!("{name}: {why}"))),
                }
            }
            (line, Ok(object))
        })
        .collect())
}

/// One CSV cell as the JSON value of column `name`.
fn csv_cell(name: &str, cell: &str) -> Result<Value, String> {
    if cell == "null" {
        return Ok(Value::Null);
    }
    if cell.starts_with('[') || cell.starts_with('{') {
        return serde_json::from_str(cell).map_err(|e| format!("not JSON: {e}"));
    }
    let list = || cell.split(';').map(str::trim).filter(|s| !s.is_empty());
    Ok(match Field::from_name(name) {
        Some(Field::Roles | Field::Permissions) => {
            list().map(|s| Value::String(s.into())).collect()
        }
        Some(Field::FeatureFlags) => {
            let mut flags = Map::new();
            for item in list() {
                let (flag, on) = match item.split_once('=') {
                    Some((flag, value)) => (flag.trim(), bool_cell(value.trim())?),
                    None => (item, true),
                };
                flags.insert(flag.to_string(), Value::Bool(on));
            }
            Value::Object(flags)
        }
        Some(Field::Active) => Value::Bool(bool_cell(cell)?),
        Some(Field::OnboardingStep | Field::OnboardingTotalSteps) => Value::from(
            cell.parse::<u64>()
                .map_err(|_| format!("{cell:?} is not a whole number"))?,
        ),
        _ => Value::String(cell.to_string()),
    })
}

fn bool_cell(text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" => Ok(true),
        "false" | "no" | "0" => Ok(false),
        _ => Err(format!("{text:?} is not true or false")),
    }
}

/// RFC 4180 rows with their 1-based starting line: quoted cells may hold commas, quotes
/// (doubled) and line breaks.
fn csv_rows(text: &str) -> Result<Vec<(usize, Vec<String>)>, String> {
    let mut rows = Vec::new();
    let (mut row, mut cell) = (Vec::new(), String::new());
    let (mut quoted, mut line, mut row_line) = (false, 1usize, 1usize);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => {
                if c == '\n' {
                    line += 1;
                }
                cell.push(c);
            }
            (false, '"') if cell.trim().is_empty() => {
                cell.clear();
                quoted = true;
            }
            (false, ',') => row.push(std::mem::take(&mut cell)),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut cell));
                rows.push((row_line, std::mem::take(&mut row)));
                line += 1;
                row_line = line;
            }
            (false, c) => cell.push(c),
        }
    }
    if quoted {
        return Err(format!("line {row_line}: a quoted cell is never closed"));
    }
    if !cell.is_empty() || !row.is_empty() {
        row.push(cell);
        rows.push((row_line, row));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_three_formats_give_the_same_records() {
        let ndjson = "{\"user_id\":\"user_1\",\"roles\":[\"a\",\"b\"],\"feature_flags\":{\"x\":true,\"y\":false},\"active\":true,\"onboarding_step\":2}\n\n{\"user_id\":\"user_2\",\"user_type\":\"customer\"}\n";
        let array = "[{\"user_id\":\"user_1\",\"roles\":[\"a\",\"b\"],\"feature_flags\":{\"x\":true,\"y\":false},\"active\":true,\"onboarding_step\":2},{\"user_id\":\"user_2\",\"user_type\":\"customer\"}]";
        let csv = "user_id,roles,feature_flags,active,onboarding_step,user_type\r\nuser_1,a;b,\"x;y=false\",yes,2,\n\"user_2\",,,,,customer\n";
        let strip = |r: Vec<Record>| {
            r.into_iter()
                .map(|r| (r.user_id, r.values))
                .collect::<Vec<_>>()
        };
        let a = strip(parse(ndjson, "in").unwrap());
        assert_eq!(a, strip(parse(array, "in").unwrap()));
        assert_eq!(a, strip(parse(csv, "in").unwrap()));
        assert_eq!(
            a[0].1.fields[&Field::FeatureFlags],
            json!({"x": true, "y": false})
        );
    }

    #[test]
    fn every_problem_is_reported_with_its_record() {
        let input = "{\"user_id\":\"user_1\",\"active\":\"no\"}\nnot json\n{\"roles\":[]}\n{\"user_id\":\"user_1\"}\n";
        let problems = parse(input, "users.ndjson").unwrap_err();
        assert_eq!(problems.len(), 4, "{problems:#?}");
        assert!(problems[0].starts_with("users.ndjson: record 1 (user_1): active"));
        assert!(problems[3].contains("already given in record 1"));
    }

    #[test]
    fn csv_quotes_hold_commas_and_line_breaks() {
        let rows = csv_rows("a,b\n\"x, y\",\"say \"\"hi\"\"\nthere\"\n").unwrap();
        assert_eq!(
            rows[1].1,
            vec!["x, y".to_string(), "say \"hi\"\nthere".to_string()]
        );
        assert!(csv_rows("a\n\"open").is_err());
    }
}
