//! The file: reading and writing cassettes as pretty JSON, and the only IO of the crate.
//! Loading never panics and says where a file goes wrong; saving is atomic, whole ([`Cassette::save`]) or from
//! cached text when appending ([`CassetteFile`]).

use std::io::{IoSlice, Write as _};
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::Error;
use crate::decode::Encoding;
use crate::model::{Cassette, FORMAT_VERSION, Headers, Interaction, Message};

impl Cassette {
    /// Reads and checks a cassette file (a regular file of at most [`crate::DEFAULT_MAX_CASSETTE_SIZE`] bytes), without
    /// its journal: readers use [`Cassette::open`], which also recovers a journal left by a crash.
    pub fn load(path: &Path) -> Result<Cassette, Error> {
        let text = crate::store::read_text(path, crate::store::DEFAULT_MAX_CASSETTE_SIZE)?;
        Cassette::from_json_str(&text, &path.display().to_string())
    }

    /// Parses and checks a cassette; `origin` names it in errors (usually the file path).
    pub fn from_json_str(text: &str, origin: &str) -> Result<Cassette, Error> {
        // Parse first; only when that fails look at the version, so another version's shape is reported as
        // a version error rather than as whatever field it renamed.
        match serde_json::from_str::<Cassette>(text) {
            Ok(cassette) => {
                cassette.check(text, origin)?;
                Ok(cassette)
            }
            Err(e) => {
                check_version(text, origin)?;
                Err(parse_error(origin, &e))
            }
        }
    }

    /// The file text: pretty JSON with two-space indents, fields in a fixed order, ending with a newline.
    pub fn to_json_string(&self) -> String {
        // Serialising plain data with string keys cannot fail.
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Writes the cassette atomically: a temporary file in the same directory, fsync, rename.
    pub fn save(&self, path: &Path) -> Result<(), Error> {
        write_atomic(path, &[self.to_json_string().as_bytes()])
    }

    /// Semantic checks serde cannot do: message types exist and their JSON is that type.
    fn check(&self, text: &str, origin: &str) -> Result<(), Error> {
        if self.version != FORMAT_VERSION {
            return Err(version_error(text, origin, &self.version.to_string()));
        }
        for (i, interaction) in self.interactions.iter().enumerate() {
            let invalid = |message: String| Error::Invalid {
                origin: origin.to_owned(),
                interaction: i,
                line: interaction_line(text, i),
                message,
            };
            check_interaction(interaction).map_err(invalid)?;
        }
        Ok(())
    }
}

/// The checks serde cannot do on one interaction: replay can send it, and its messages are of their types.
pub(crate) fn check_interaction(interaction: &Interaction) -> Result<(), String> {
    check_sendable(interaction)?;
    let (request, response): (&[Message], &[Message]) = match interaction {
        Interaction::Grpc(g) => (&g.request.messages, &g.response.messages),
        Interaction::Rest(_) => return Ok(()),
    };
    for (side, messages) in [("request", request), ("response", response)] {
        for (m, message) in messages.iter().enumerate() {
            check_message(message).map_err(|e| format!("{side} message {m}: {e}"))?;
        }
    }
    Ok(())
}

/// What replay will have to put on the wire, checked at load so that a file that loads is a file replay serves:
/// header names and values HTTP allows (no control bytes), a REST status code, a known body coding.
fn check_sendable(interaction: &Interaction) -> Result<(), String> {
    let headers: Vec<(&str, &Headers)> = match interaction {
        Interaction::Grpc(g) => vec![
            ("request metadata", &g.request.metadata),
            ("response header", &g.response.headers),
            ("trailer", &g.response.trailers),
        ],
        Interaction::Rest(r) => {
            if !(100..=999).contains(&r.response.status) {
                return Err(format!(
                    "`{}` is not an HTTP status code",
                    r.response.status
                ));
            }
            for (side, encoding) in [
                ("request", &r.request.encoding),
                ("response", &r.response.encoding),
            ] {
                if let Some(coding) = encoding {
                    Encoding::parse_list(coding).map_err(|e| format!("{side} body: {e}"))?;
                }
            }
            vec![
                ("request header", &r.request.headers),
                ("response header", &r.response.headers),
            ]
        }
    };
    for (what, headers) in headers {
        for (name, value) in headers.iter() {
            let name_ok = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~:".contains(&b));
            if !name_ok {
                return Err(format!(
                    "{what} name `{}` is not valid",
                    name.escape_debug()
                ));
            }
            // As `http::HeaderValue` allows: visible ASCII, space, tab and bytes above 0x7f.
            if let Some(c) = value
                .chars()
                .find(|&c| (c < ' ' && c != '\t') || c == '\u{7f}')
            {
                return Err(format!(
                    "{what} `{name}` has a control character ({}) in its value",
                    c.escape_unicode()
                ));
            }
        }
    }
    Ok(())
}

fn check_message(message: &Message) -> Result<(), String> {
    if message.json.is_none() && message.raw.is_none() && message.note.is_none() {
        return Err("expected `json` or `raw`".to_owned());
    }
    let Some(json) = &message.json else {
        return Ok(());
    };
    let Some(type_name) = &message.type_name else {
        return Err("`json` needs a `type`".to_owned());
    };
    let Some(ty) = yc_proto::registry::get(type_name) else {
        return Err(format!("unknown message type `{type_name}`"));
    };
    ty.from_json_value(json, yc_proto::json::ParseOptions::default())
        .map(drop)
        .map_err(|e| e.to_string())
}

fn check_version(text: &str, origin: &str) -> Result<(), Error> {
    #[derive(Deserialize)]
    struct Probe {
        version: Option<Value>,
    }
    let probe: Probe = serde_json::from_str(text).map_err(|e| parse_error(origin, &e))?;
    match probe.version {
        Some(Value::Number(n)) if n.as_u64() == Some(u64::from(FORMAT_VERSION)) => Ok(()),
        Some(found) => Err(version_error(text, origin, &found.to_string())),
        None => Err(Error::Parse {
            origin: origin.to_owned(),
            line: 1,
            column: 1,
            message: format!("missing field `version`, expected `\"version\": {FORMAT_VERSION}`"),
        }),
    }
}

fn version_error(text: &str, origin: &str, found: &str) -> Error {
    let (line, column) = find_key(text, "version").unwrap_or((1, 1));
    Error::Version {
        origin: origin.to_owned(),
        line,
        column,
        found: found.to_owned(),
        expected: FORMAT_VERSION,
    }
}

fn parse_error(origin: &str, e: &serde_json::Error) -> Error {
    let message = strip_position(&e.to_string());
    let message = if e.is_eof() {
        format!("{message}: the file is truncated")
    } else {
        message
    };
    Error::Parse {
        origin: origin.to_owned(),
        line: e.line().max(1),
        column: e.column().max(1),
        message,
    }
}

/// serde_json's message without the " at line L column C" it appends; the position goes into our own fields.
pub(crate) fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// Line and column of the first `"key":` in the text (1-based).
fn find_key(text: &str, key: &str) -> Option<(usize, usize)> {
    let needle = format!("\"{key}\"");
    let at = text.find(&needle)?;
    Some(position(text, at))
}

fn position(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// The line on which interaction `index` starts, found by a small scan of the JSON structure.
/// Only runs on errors, so it may be slow; `None` if the structure is not what we write.
fn interaction_line(text: &str, index: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut last_string: (usize, usize) = (0, 0);
    let mut in_interactions = false;
    let mut count = 0usize;
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => {
                    in_string = false;
                    last_string.1 = i;
                }
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                last_string = (i + 1, i + 1);
            }
            b'[' | b'{' => {
                if b == b'[' && depth == 1 && &text[last_string.0..last_string.1] == "interactions"
                {
                    in_interactions = true;
                } else if in_interactions && depth == 2 && b == b'{' {
                    if count == index {
                        return Some(position(text, i).0);
                    }
                    count += 1;
                }
                depth += 1;
            }
            b']' | b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 1 {
                    in_interactions = false;
                }
            }
            _ => {}
        }
    }
    None
}

/// Writes `pieces` one after the other as the new content of `path`: a temporary file in the same directory,
/// fsync, rename, so a reader (or a crash) sees the old file or the new one, never a mix.
pub(crate) fn write_atomic(path: &Path, pieces: &[&[u8]]) -> Result<(), Error> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "cassette".to_owned());
    let io = |action: &'static str, p: &Path| {
        let p = p.to_owned();
        move |source| Error::Io {
            action,
            path: p,
            source,
        }
    };
    let (tmp_path, mut file) = create_temp(dir, &name).map_err(io("create a file in", dir))?;
    let written = write_all_vectored(&mut file, pieces)
        .and_then(|()| file.sync_all())
        .map_err(io("write", &tmp_path))
        .and_then(|()| std::fs::rename(&tmp_path, path).map_err(io("replace", path)));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp_path);
    }
    written?;
    // Make the rename itself durable; not every platform can open a directory, so this is best effort.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Writes every piece, many per system call.
fn write_all_vectored(file: &mut std::fs::File, pieces: &[&[u8]]) -> std::io::Result<()> {
    // Below the usual IOV_MAX of 1024.
    const BATCH: usize = 512;
    for group in pieces.chunks(BATCH) {
        let mut slices: Vec<IoSlice<'_>> = group
            .iter()
            .filter(|p| !p.is_empty())
            .map(|p| IoSlice::new(p))
            .collect();
        let mut rest = &mut slices[..];
        while !rest.is_empty() {
            match file.write_vectored(rest) {
                Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
                Ok(n) => IoSlice::advance_slices(&mut rest, n),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

fn create_temp(dir: &Path, name: &str) -> std::io::Result<(std::path::PathBuf, std::fs::File)> {
    // A name unique to this process and call: no clock, no randomness needed.
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    loop {
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
        {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

mod file;

pub use file::{CassetteFile, CassetteSnapshot};

#[cfg(test)]
mod tests;
