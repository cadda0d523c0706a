//! The registry index as a file beside the database, so that a restart reads it back
//! instead of passing every row through the database driver (at a million operators,
//! nearly all of the start). A snapshot is stamped with the newest change it reflects
//! (its audit event's id and time) and the schema it was taken under; on start, every
//! operator that a later change names (the change effects, as at run time) is marked
//! stale and read from the database on its next use, so a snapshot never answers for what
//! changed after it. Another format or schema, another database (the stamped event is
//! not there as stamped), too many changes since, or a damaged file: the snapshot is not
//! used and the index loads from the database.
//!
//! Layout: a magic, then frames (`kind`, length, CRC-32 of the payload, payload in
//! postcard): the header, chunks of entries in corporate-number order, the trailer (the
//! code table the entries' symbols refer to, the operators to read again, the count).

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::held::HeldOperator;
use crate::domain::CorporateNumber;

const MAGIC: &[u8; 8] = b"SRINDEX\0";
/// Changes whenever what the index holds, or how it is written, changes shape.
const FORMAT: u32 = 1;
/// Entries per frame: one short hold of the index's read lock each while writing.
pub const CHUNK: usize = 4096;
/// The largest frame a reader accepts (a chunk of very large operators included).
const MAX_FRAME: u32 = 1 << 30;

const HEADER: u8 = 1;
const ENTRIES: u8 = 2;
const TRAILER: u8 = 3;

/// The newest change a snapshot reflects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    pub event: i64,
    /// When the event was recorded, as the database gives it back (nanoseconds).
    pub recorded_at: i64,
}

#[derive(Serialize, Deserialize)]
struct Header {
    format: u32,
    /// The newest migration of the schema the snapshot was taken under.
    schema: String,
    stamp: Stamp,
}

#[derive(Serialize, Deserialize)]
struct Trailer<S> {
    /// The code table, by symbol.
    symbols: Vec<S>,
    legal_bases: usize,
    /// Operators the index did not hold current while it was written.
    stale: Vec<CorporateNumber>,
    /// Entries written, to tell a whole file from a cut one.
    operators: u64,
}

/// A snapshot read back.
pub struct Snapshot {
    pub stamp: Stamp,
    /// In corporate-number order; their symbols refer to `symbols`.
    pub entries: Vec<(CorporateNumber, HeldOperator)>,
    pub symbols: Vec<String>,
    pub legal_bases: usize,
    pub stale: Vec<CorporateNumber>,
}

/// Why a snapshot was not written or not used.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("cannot read or write the index snapshot: {0}")]
    Io(#[from] std::io::Error),
    #[error("the index snapshot is damaged: {0}")]
    Damaged(String),
    #[error("the index snapshot was written {0}")]
    Mismatch(String),
    #[error("cannot encode the index snapshot: {0}")]
    Encoding(#[from] postcard::Error),
    #[error("cannot stamp the index snapshot: {0}")]
    Storage(#[from] crate::storage::StorageError),
    #[error("the index snapshot's task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Writes a snapshot to a file next to `path`, moved into place once complete.
pub struct SnapshotWriter {
    file: BufWriter<File>,
    partial: PathBuf,
    path: PathBuf,
    operators: u64,
    buffer: Vec<u8>,
}

impl SnapshotWriter {
    pub fn create(path: &Path, schema: &str, stamp: Stamp) -> Result<Self, SnapshotError> {
        let mut partial = path.as_os_str().to_owned();
        partial.push(".partial");
        let partial = PathBuf::from(partial);
        let mut file = BufWriter::new(File::create(&partial)?);
        file.write_all(MAGIC)?;
        let mut writer = Self { file, partial, path: path.to_owned(), operators: 0, buffer: Vec::new() };
        writer.frame(HEADER, &Header { format: FORMAT, schema: schema.to_owned(), stamp })?;
        Ok(writer)
    }

    pub fn entries(&mut self, entries: &[(CorporateNumber, &HeldOperator)]) -> Result<(), SnapshotError> {
        self.operators += entries.len() as u64;
        self.frame(ENTRIES, &entries)
    }

    /// Writes the trailer, makes the file durable and moves it into place.
    pub fn finish(
        mut self,
        symbols: Vec<&str>,
        legal_bases: usize,
        stale: Vec<CorporateNumber>,
    ) -> Result<u64, SnapshotError> {
        let operators = self.operators;
        self.frame(TRAILER, &Trailer { symbols, legal_bases, stale, operators })?;
        let file = self.file.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&self.partial, &self.path)?;
        Ok(operators)
    }

    fn frame(&mut self, kind: u8, payload: &impl Serialize) -> Result<(), SnapshotError> {
        self.buffer.clear();
        let encoded = postcard::to_extend(payload, std::mem::take(&mut self.buffer))?;
        let length = u32::try_from(encoded.len())
            .ok()
            .filter(|&length| length <= MAX_FRAME)
            .ok_or_else(|| SnapshotError::Damaged("a chunk of the index is too large to write".into()))?;
        self.file.write_all(&[kind])?;
        self.file.write_all(&length.to_le_bytes())?;
        self.file.write_all(&crc32fast::hash(&encoded).to_le_bytes())?;
        self.file.write_all(&encoded)?;
        self.buffer = encoded;
        Ok(())
    }
}

/// Reads the snapshot at `path`, refusing one of another format or `schema`.
pub fn read(path: &Path, schema: &str) -> Result<Snapshot, SnapshotError> {
    let mut file = BufReader::with_capacity(1 << 20, File::open(path)?);
    let mut magic = [0u8; 8];
    file.read_exact(&mut magic)?;
    if &magic != MAGIC {
        return Err(SnapshotError::Damaged("not an index snapshot".into()));
    }
    let mut buffer = Vec::new();
    let header: Header = decode(next_frame(&mut file, &mut buffer, HEADER)?)?;
    if header.format != FORMAT {
        return Err(SnapshotError::Mismatch(format!("in format {}, not {FORMAT}", header.format)));
    }
    if header.schema != schema {
        return Err(SnapshotError::Mismatch(format!("under schema {}, not {schema}", header.schema)));
    }
    let mut entries = Vec::new();
    loop {
        let (kind, payload) = frame(&mut file, &mut buffer)?;
        match kind {
            ENTRIES => entries.extend(decode::<Vec<(CorporateNumber, HeldOperator)>>(payload)?),
            TRAILER => {
                let trailer: Trailer<String> = decode(payload)?;
                if trailer.operators != entries.len() as u64 {
                    return Err(SnapshotError::Damaged(format!(
                        "{} operators read, {} written",
                        entries.len(),
                        trailer.operators
                    )));
                }
                return Ok(Snapshot {
                    stamp: header.stamp,
                    entries,
                    symbols: trailer.symbols,
                    legal_bases: trailer.legal_bases,
                    stale: trailer.stale,
                });
            }
            other => return Err(SnapshotError::Damaged(format!("unexpected frame {other}"))),
        }
    }
}

fn next_frame<'b>(file: &mut impl Read, buffer: &'b mut Vec<u8>, expected: u8) -> Result<&'b [u8], SnapshotError> {
    let (kind, payload) = frame(file, buffer)?;
    if kind != expected {
        return Err(SnapshotError::Damaged(format!("frame {kind} where {expected} belongs")));
    }
    Ok(payload)
}

/// The next frame's kind and payload, its checksum verified.
fn frame<'b>(file: &mut impl Read, buffer: &'b mut Vec<u8>) -> Result<(u8, &'b [u8]), SnapshotError> {
    let mut head = [0u8; 9];
    file.read_exact(&mut head).map_err(|e| cut(e, "a frame's header"))?;
    let [kind, l0, l1, l2, l3, c0, c1, c2, c3] = head;
    let length = u32::from_le_bytes([l0, l1, l2, l3]);
    if length > MAX_FRAME {
        return Err(SnapshotError::Damaged(format!("a frame of {length} bytes")));
    }
    buffer.resize(length as usize, 0);
    file.read_exact(buffer).map_err(|e| cut(e, "a frame"))?;
    if crc32fast::hash(buffer) != u32::from_le_bytes([c0, c1, c2, c3]) {
        return Err(SnapshotError::Damaged("a frame's checksum does not match".into()));
    }
    Ok((kind, buffer))
}

fn cut(error: std::io::Error, what: &str) -> SnapshotError {
    match error.kind() {
        std::io::ErrorKind::UnexpectedEof => SnapshotError::Damaged(format!("the file ends inside {what}")),
        _ => SnapshotError::Io(error),
    }
}

fn decode<'a, T: Deserialize<'a>>(payload: &'a [u8]) -> Result<T, SnapshotError> {
    postcard::from_bytes(payload).map_err(|e| SnapshotError::Damaged(e.to_string()))
}

/// Dates as days since the common era (a number, not text to parse again).
pub mod days {
    use chrono::{Datelike, NaiveDate};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(date: &NaiveDate, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i32(date.num_days_from_ce())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<NaiveDate, D::Error> {
        let days = i32::deserialize(deserializer)?;
        NaiveDate::from_num_days_from_ce_opt(days).ok_or_else(|| serde::de::Error::custom("a date out of range"))
    }

    pub mod option {
        use chrono::{Datelike, NaiveDate};
        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(date: &Option<NaiveDate>, serializer: S) -> Result<S::Ok, S::Error> {
            match date {
                Some(date) => serializer.serialize_some(&date.num_days_from_ce()),
                None => serializer.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<NaiveDate>, D::Error> {
            Option::<i32>::deserialize(deserializer)?
                .map(|days| {
                    NaiveDate::from_num_days_from_ce_opt(days)
                        .ok_or_else(|| serde::de::Error::custom("a date out of range"))
                })
                .transpose()
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, Utc};
    use uuid::Uuid;

    use super::*;
    use crate::domain::Regime;
    use crate::domain::designation::Designation;
    use crate::domain::operator::Operator;
    use crate::domain::special_operator::SpecialPeriod;
    use crate::read_model::held::Symbols;

    fn operator(number: &str, name_en: Option<&str>) -> Operator {
        Operator {
            id: Uuid::new_v4(),
            corporate_number: CorporateNumber::parse(number).expect("valid"),
            name_ja: "テスト事業者".into(),
            name_en: name_en.map(str::to_owned),
            closed_on: NaiveDate::from_ymd_opt(2030, 3, 31),
            successor: None,
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    /// An operator as stored: its record, designations and 特別社会基盤事業者 periods.
    type Stored = (Operator, Vec<Designation>, Vec<SpecialPeriod>);

    fn written(path: &Path, schema: &str) -> Vec<Stored> {
        let first = operator("7000012050002", Some("Test"));
        let second = operator("1000011000005", None);
        let designations = vec![
            Designation {
                legal_basis: Some("経済安全保障推進法第50条第1項".into()),
                reference: Some("官報".into()),
                revoked_at: Some(Utc::now()),
                scope_item: Some("electricity/transmission".into()),
                ..Designation::for_test(first.id, Regime::Espa, "electricity", crate::domain::today(), "METI")
            },
            Designation::for_test(first.id, Regime::Ci, "gas", crate::domain::today(), "METI"),
        ];
        let special = vec![SpecialPeriod::for_test(first.id, crate::domain::today(), None)];
        let records = vec![(first, designations, special), (second, Vec::new(), Vec::new())];
        let mut symbols = Symbols::default();
        let held: Vec<(CorporateNumber, HeldOperator)> = records
            .iter()
            .map(|(o, d, s)| (o.corporate_number, HeldOperator::new(o, d, s, &mut symbols).expect("held")))
            .collect();
        let stamp = Stamp { event: 7, recorded_at: 1_700_000_000_000_000_123 };
        let mut writer = SnapshotWriter::create(path, schema, stamp).expect("create");
        let refs: Vec<(CorporateNumber, &HeldOperator)> = held.iter().map(|(n, h)| (*n, h)).collect();
        writer.entries(&refs[..1]).expect("first chunk");
        writer.entries(&refs[1..]).expect("second chunk");
        let (texts, legal_bases) = symbols.texts();
        let stale = vec![CorporateNumber::parse("2000012010019").expect("valid")];
        assert_eq!(writer.finish(texts, legal_bases, stale).expect("finish"), 2);
        records
    }

    #[test]
    fn a_snapshot_reads_back_as_written_into_a_table_that_holds_other_codes() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("registry.db.index");
        let records = written(&path, "m1");
        assert!(!dir.path().join("registry.db.index.partial").exists(), "moved into place");
        let mut snapshot = read(&path, "m1").expect("read");
        assert_eq!(snapshot.stamp, Stamp { event: 7, recorded_at: 1_700_000_000_000_000_123 });
        assert_eq!(snapshot.stale, vec![CorporateNumber::parse("2000012010019").expect("valid")]);
        // This process interned other codes first: the snapshot's symbols are mapped.
        let mut live = Symbols::default();
        let other = operator("3000012010001", None);
        let taken = vec![Designation::for_test(other.id, Regime::Ci, "water", crate::domain::today(), "MLIT")];
        HeldOperator::new(&other, &taken, &[], &mut live).expect("held");
        let table = live.adopt(&snapshot.symbols, snapshot.legal_bases).expect("room");
        for ((number, held), (operator, designations, special)) in snapshot.entries.iter_mut().zip(&records) {
            assert!(held.remap(&table));
            let entry = held.entry(*number, &live);
            assert_eq!(&entry.operator, operator);
            assert_eq!(&*entry.designations, designations);
            assert_eq!(&*entry.special, special);
        }
    }

    #[test]
    fn a_damaged_cut_or_foreign_snapshot_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("index");
        written(&path, "m1");
        assert!(matches!(read(&path, "m2"), Err(SnapshotError::Mismatch(why)) if why.contains("schema m1")));
        let bytes = std::fs::read(&path).expect("bytes");
        let mut flipped = bytes.clone();
        let middle = flipped.len() / 2;
        flipped[middle] ^= 0x40;
        std::fs::write(&path, &flipped).expect("write");
        assert!(matches!(read(&path, "m1"), Err(SnapshotError::Damaged(_))));
        std::fs::write(&path, &bytes[..bytes.len() - 3]).expect("write");
        assert!(matches!(read(&path, "m1"), Err(SnapshotError::Damaged(why)) if why.contains("ends inside")));
        std::fs::write(&path, b"something else entirely").expect("write");
        assert!(matches!(read(&path, "m1"), Err(SnapshotError::Damaged(_))));
    }
}
