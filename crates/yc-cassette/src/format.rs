//! The file: reading and writing cassettes as pretty JSON, and the only IO of the crate.
//! Loading never panics and says where a file goes wrong; saving is atomic, whole ([`Cassette::save`]) or, when
//! appending, from cached text and a journal's lines ([`CassetteFile`]).

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use yc_proto::Schema;

use crate::Error;
use crate::decode::Encoding;
use crate::model::{
    Body, Cassette, FORMAT_VERSION, Headers, Interaction, MatchRules, Message, Meta,
};

/// What a reader keeps of the interactions it loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Keep {
    /// Everything, as in the file: for readers that show, scan, match on or write the cassette again.
    #[default]
    All,
    /// What a server answering from the cassette needs: requests whole, and responses as the bytes they are sent
    /// as. A gRPC response message keeps `raw` (from its JSON) instead of its JSON, a REST response body its JSON
    /// as text: a third of the parsed memory on a 100k-interaction cassette (190 MB against 590 MB), and nothing
    /// to encode when serving. Not for writing back: nothing would be lost, but the file would hold base64 where it
    /// held JSON.
    Replay,
    /// Nothing: each interaction is parsed, checked (and inspected, see [`Cassette::from_json_str_inspecting`])
    /// and dropped, and the cassette comes back without interactions. For `yc-vcr check`, which needs the checks
    /// and the scan and nothing after: the parsed interactions were most of its memory and, on a machine where
    /// fresh memory is slow to fault in, a third of its time.
    Nothing,
}

impl Cassette {
    /// Reads and checks a cassette file (a regular file of at most [`crate::DEFAULT_MAX_CASSETTE_SIZE`] bytes), without
    /// its journal: readers use [`Cassette::open`], which also recovers a journal left by a crash.
    pub fn load(path: &Path, schema: &Schema) -> Result<Cassette, Error> {
        let max_size = crate::store::DEFAULT_MAX_CASSETTE_SIZE;
        load_file(path, max_size, Keep::All, schema, |_, _| ()).map(|(cassette, _)| cassette)
    }

    /// Parses and checks a cassette against `schema`; `origin` names it in errors (usually the file path).
    pub fn from_json_str(text: &str, origin: &str, schema: &Schema) -> Result<Cassette, Error> {
        Cassette::from_json_str_keeping(text, origin, Keep::All, schema)
    }

    /// [`Cassette::from_json_str`], keeping of each interaction what `keep` says.
    ///
    /// The file is read in two steps: its layout first, each interaction as a span of the text
    /// ([`serde_json::value::RawValue`]), then the interactions, on several threads for a long cassette, each
    /// parsed, checked and (for [`Keep::Replay`]) reduced before the next, so that the parsed form of the whole
    /// file never sits in memory beside its text.
    pub fn from_json_str_keeping(
        text: &str,
        origin: &str,
        keep: Keep,
        schema: &Schema,
    ) -> Result<Cassette, Error> {
        Cassette::from_json_str_inspecting(text, origin, keep, schema, |_, _| ()).map(|(c, _)| c)
    }

    /// [`Cassette::from_json_str_keeping`], giving each interaction whole to `inspect` (on the thread that parsed
    /// it, before it is reduced) and its results in order: a scan of the whole interaction that keeps only the
    /// reduced form.
    pub fn from_json_str_inspecting<T: Send>(
        text: &str,
        origin: &str,
        keep: Keep,
        schema: &Schema,
        inspect: impl Fn(usize, &Interaction) -> T + Sync,
    ) -> Result<(Cassette, Vec<T>), Error> {
        // Parse first; only when that fails look at the version, so another version's shape is reported as
        // a version error rather than as whatever field it renamed.
        let layout = match serde_json::from_str::<Layout<'_>>(text) {
            Ok(layout) => layout,
            Err(e) => {
                check_version(text, origin)?;
                return Err(parse_error(origin, &e));
            }
        };
        let raws: Vec<&str> = layout.interactions.iter().map(|raw| raw.get()).collect();
        let (interactions, inspected) = match parse_interactions(&raws, 0, keep, schema, &inspect) {
            Ok(parsed) => parsed,
            Err((i, Failure::Parse(e))) => {
                check_version(text, origin)?;
                return Err(parse_error_in(text, layout.interactions[i], origin, &e));
            }
            Err((i, Failure::Invalid(message))) => {
                if layout.version != FORMAT_VERSION {
                    return Err(version_error(text, origin, &layout.version.to_string()));
                }
                return Err(Error::Invalid {
                    origin: origin.to_owned(),
                    interaction: i,
                    line: Some(position(text, offset_in(text, layout.interactions[i])).0),
                    message,
                });
            }
        };
        if layout.version != FORMAT_VERSION {
            return Err(version_error(text, origin, &layout.version.to_string()));
        }
        let cassette = Cassette {
            version: layout.version,
            meta: layout.meta,
            matching: layout.matching,
            interactions,
        };
        Ok((cassette, inspected))
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
        crate::store::write_atomic(path, &[self.to_json_string().as_bytes()])
    }
}

/// The checks serde cannot do on one interaction: replay can send it, and its messages are of their types.
pub(crate) fn check_interaction(interaction: &Interaction, schema: &Schema) -> Result<(), String> {
    let mut interaction = std::borrow::Cow::Borrowed(interaction);
    check_keeping(&mut interaction, Keep::All, schema)
}

/// [`check_interaction`], then reduces the interaction to what `keep` says. The check encodes every message,
/// which gives the reduced form its bytes for free.
fn check_keeping(
    interaction: &mut std::borrow::Cow<'_, Interaction>,
    keep: Keep,
    schema: &Schema,
) -> Result<(), String> {
    check_sendable(interaction)?;
    let (request, response): (&[Message], &[Message]) = match &**interaction {
        Interaction::Grpc(g) => (&g.request.messages, &g.response.messages),
        Interaction::Rest(_) => {
            if keep == Keep::Replay {
                shed_rest_body(interaction.to_mut());
            }
            return Ok(());
        }
    };
    for (m, message) in request.iter().enumerate() {
        check_message(message, schema).map_err(|e| format!("request message {m}: {e}"))?;
    }
    let mut wire = Vec::new();
    for (m, message) in response.iter().enumerate() {
        let bytes =
            check_message(message, schema).map_err(|e| format!("response message {m}: {e}"))?;
        wire.push(bytes);
    }
    if keep == Keep::Replay
        && let Interaction::Grpc(g) = interaction.to_mut()
    {
        for (message, bytes) in g.response.messages.iter_mut().zip(wire) {
            if let Some(bytes) = bytes
                && message.raw.is_none()
            {
                message.raw = Some(bytes);
            }
            if message.raw.is_some() {
                message.json = None;
            }
        }
        shrink_grpc(g);
    }
    Ok(())
}

/// Gives back the room parsing left in what a replay keeps for its lifetime: a vector grown by pushes holds up to
/// four elements for one (a message is 150 bytes), an object map room for more keys. A third of a kept interaction
/// was such room.
fn shrink_grpc(g: &mut crate::model::GrpcInteraction) {
    for headers in [
        &mut g.request.metadata,
        &mut g.response.headers,
        &mut g.response.trailers,
    ] {
        headers.0.shrink_to_fit();
    }
    for messages in [&mut g.request.messages, &mut g.response.messages] {
        messages.shrink_to_fit();
        for message in messages {
            if let Some(json) = &mut message.json {
                shrink_value(json);
            }
        }
    }
}

fn shrink_value(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let mut exact: serde_json::Map<String, Value> =
                std::mem::take(map).into_iter().collect();
            exact.values_mut().for_each(shrink_value);
            *map = exact;
        }
        Value::Array(items) => {
            items.shrink_to_fit();
            items.iter_mut().for_each(shrink_value);
        }
        _ => {}
    }
}

/// A REST response body stored as JSON, kept as the text replay sends (it parses again when translated).
fn shed_rest_body(interaction: &mut Interaction) {
    if let Interaction::Rest(rest) = interaction
        && let Body::Json(value) = &rest.response.body
    {
        rest.response.body = Body::Text(value.to_string());
    }
}

/// What replay will have to put on the wire, checked at load so that a file that loads is a file replay serves
/// (replay prepares an answer only when it is first asked for): header names and values HTTP allows (no control
/// bytes), a REST status code, a known body coding, gRPC status details that encode, no messages in a
/// trailers-only response.
fn check_sendable(interaction: &Interaction) -> Result<(), String> {
    let headers: Vec<(&str, &Headers)> = match interaction {
        Interaction::Grpc(g) => {
            if g.response.trailers_only && !g.response.messages.is_empty() {
                return Err("a trailers-only response cannot carry messages".into());
            }
            let details = g
                .response
                .status
                .details_bin_text()
                .map_err(|e| format!("status details: {e}"))?;
            if details.is_some_and(|text| !valid_header_value(&text)) {
                return Err("status details are not valid header text".into());
            }
            vec![
                ("request metadata", &g.request.metadata),
                ("response header", &g.response.headers),
                ("trailer", &g.response.trailers),
            ]
        }
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
            if let Some(c) = value.chars().find(|&c| !header_char(c)) {
                return Err(format!(
                    "{what} `{name}` has a control character ({}) in its value",
                    c.escape_unicode()
                ));
            }
        }
    }
    Ok(())
}

/// As `http::HeaderValue` allows: visible ASCII, space, tab and bytes above 0x7f.
fn header_char(c: char) -> bool {
    (c >= ' ' || c == '\t') && c != '\u{7f}'
}

fn valid_header_value(text: &str) -> bool {
    text.chars().all(header_char)
}

/// Checks one message; its wire bytes when they come from its JSON (`None` when it has none).
fn check_message(message: &Message, schema: &Schema) -> Result<Option<Vec<u8>>, String> {
    if message.json.is_none() && message.raw.is_none() && message.note.is_none() {
        return Err("expected `json` or `raw`".to_owned());
    }
    let Some(json) = &message.json else {
        return Ok(None);
    };
    let Some(type_name) = &message.type_name else {
        return Err("`json` needs a `type`".to_owned());
    };
    let Some(ty) = schema.message(type_name) else {
        return Err(format!("unknown message type `{type_name}`"));
    };
    ty.from_json_value(json, yc_proto::json::ParseOptions::default())
        .map(Some)
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

/// Where `raw` (a span of `text`) starts in it.
fn offset_in(text: &str, raw: &RawValue) -> usize {
    (raw.get().as_ptr() as usize).saturating_sub(text.as_ptr() as usize)
}

/// A parse error inside `raw` (a span of `text`), placed in the whole text.
fn parse_error_in(text: &str, raw: &RawValue, origin: &str, e: &serde_json::Error) -> Error {
    let base = offset_in(text, raw);
    let base_line = text[..base].matches('\n').count() + 1;
    let mut error = parse_error(origin, e);
    if let Error::Parse { line, column, .. } = &mut error {
        // serde_json counts bytes from the start of the line; the span's first line starts mid-line in the file.
        if *line == 1 {
            let line_start = text[..base].rfind('\n').map_or(0, |at| at + 1);
            *column += base - line_start;
        }
        *line += base_line - 1;
    }
    error
}

/// The top level of the file, with each interaction left as its text, to be parsed on its own.
/// The fields and attributes mirror [`Cassette`]'s; a test checks both read every file alike.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Layout<'a> {
    version: u32,
    #[serde(default)]
    meta: Meta,
    #[serde(default)]
    matching: MatchRules,
    #[serde(default, borrow)]
    interactions: Vec<&'a RawValue>,
}

enum Failure {
    Parse(serde_json::Error),
    Invalid(String),
}

/// Parses and checks each interaction (the `i`th of `raws` is interaction `first + i` of its file), giving each to
/// `inspect` whole before it is reduced; on failure, the first failing one (by position) and why.
fn parse_interactions<T: Send>(
    raws: &[&str],
    first: usize,
    keep: Keep,
    schema: &Schema,
    inspect: &(impl Fn(usize, &Interaction) -> T + Sync),
) -> Result<(Vec<Interaction>, Vec<T>), (usize, Failure)> {
    let one = |i: usize, raw: &str| -> Result<(Option<Interaction>, T), (usize, Failure)> {
        let i = first + i;
        let interaction: Interaction =
            serde_json::from_str(raw).map_err(|e| (i, Failure::Parse(e)))?;
        let inspected = inspect(i, &interaction);
        let mut interaction = std::borrow::Cow::Owned(interaction);
        check_keeping(&mut interaction, keep, schema).map_err(|m| (i, Failure::Invalid(m)))?;
        let kept = (keep != Keep::Nothing).then(|| interaction.into_owned());
        Ok((kept, inspected))
    };
    let parsed = crate::parallel::try_map(raws, |i, raw| one(i, raw))?;
    let (kept, inspected): (Vec<Option<Interaction>>, Vec<T>) = parsed.into_iter().unzip();
    Ok((kept.into_iter().flatten().collect(), inspected))
}

mod file;
mod layout;
mod load;

pub use file::{CassetteFile, CassetteSnapshot};
pub(crate) use load::load_file;

#[cfg(test)]
mod tests;
