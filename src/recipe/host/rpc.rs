//! The channel to the recipe host process: JSON lines over two dedicated
//! pipes.
//!
//! The host is `<python> -s -S -c <host.py>` with its stdin, stdout and
//! stderr inherited (recipes and the programs they start print to the user
//! directly); requests and answers travel on two other pipes whose numbers
//! it reads from `BUILDOUT_HOST_FDS="R,W"`. A message is one JSON object per
//! line: a request `{"id", "method", "params"}`, an answer `{"id",
//! "result"}` or `{"id", "error": {"type", "message", "traceback",
//! "doing"}}`, or a `log` notification without id. Each side numbers its
//! own requests; [`super::Session`] serves the host's requests while it
//! waits for an answer, so one call stack spans both processes.

use super::{Error, Raised};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, PipeReader, PipeWriter, Write};
use std::os::fd::AsRawFd;
use std::process::{Child, Command};

/// The host's source, embedded in the binary.
const HOST_SOURCE: &str = include_str!("host.py");

/// A message from the host.
#[derive(Debug)]
pub(super) enum Message {
    /// The host asks something of the buildout.
    Request {
        id: u64,
        method: String,
        params: Value,
    },
    /// The answer to one of our requests.
    Answer {
        id: u64,
        outcome: Result<Value, Raised>,
    },
    /// A Python `logging` record.
    Log(super::LogRecord),
}

/// An error answer to one of the host's requests: the Python exception
/// class it raises (`UserError`, `MissingSection`, `KeyError`, ...) and its
/// message.
#[derive(Debug, Clone)]
pub(super) struct Refusal {
    pub kind: &'static str,
    pub message: String,
}

/// A running host.
pub(super) struct Channel {
    child: Child,
    reader: BufReader<PipeReader>,
    writer: Option<PipeWriter>,
    next_id: u64,
    python: String,
}

/// Lets the child inherit `fd` (pipes are made close-on-exec).
fn inheritable(fd: &impl std::os::fd::AsFd) -> std::io::Result<()> {
    use nix::fcntl::{FcntlArg, FdFlag, fcntl};
    fcntl(fd, FcntlArg::F_SETFD(FdFlag::empty())).map_err(std::io::Error::from)?;
    Ok(())
}

impl Channel {
    /// Starts the host with `python` in `directory`.
    pub fn spawn(python: &str, directory: &str) -> Result<Self, Error> {
        let start = |source: std::io::Error| Error::Start {
            python: python.to_string(),
            source,
        };
        let (host_reads, we_write) = std::io::pipe().map_err(start)?;
        let (we_read, host_writes) = std::io::pipe().map_err(start)?;
        inheritable(&host_reads).map_err(start)?;
        inheritable(&host_writes).map_err(start)?;
        let child = Command::new(python)
            .args(["-s", "-S", "-c", HOST_SOURCE])
            .current_dir(directory)
            .env(
                "BUILDOUT_HOST_FDS",
                format!("{},{}", host_reads.as_raw_fd(), host_writes.as_raw_fd()),
            )
            .spawn()
            .map_err(start)?;
        // Our copies of the host's ends go, so a dead host reads as EOF.
        drop(host_reads);
        drop(host_writes);
        Ok(Self {
            child,
            reader: BufReader::new(we_read),
            writer: Some(we_write),
            next_id: 0,
            python: python.to_string(),
        })
    }

    fn send(&mut self, message: &Value) -> Result<(), Error> {
        let mut line = message.to_string();
        line.push('\n');
        let sent = match self.writer.as_mut() {
            Some(writer) => writer
                .write_all(line.as_bytes())
                .and_then(|()| writer.flush())
                .is_ok(),
            None => false,
        };
        if sent { Ok(()) } else { Err(self.died()) }
    }

    /// Sends a request; returns its id.
    pub fn request(&mut self, method: &str, params: Value) -> Result<u64, Error> {
        self.next_id += 1;
        let id = self.next_id;
        self.send(&json!({"id": id, "method": method, "params": params}))?;
        Ok(id)
    }

    /// Answers the host's request `id`.
    pub fn answer(&mut self, id: u64, outcome: Result<Value, Refusal>) -> Result<(), Error> {
        let message = match outcome {
            Ok(result) => json!({"id": id, "result": result}),
            Err(r) => json!({"id": id, "error": {
                "type": r.kind, "message": r.message, "traceback": null, "doing": []}}),
        };
        self.send(&message)
    }

    /// The next message from the host.
    pub fn next(&mut self) -> Result<Message, Error> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) | Err(_) => return Err(self.died()),
            Ok(_) => {}
        }
        parse(&line).ok_or_else(|| Error::Protocol {
            line: line.trim_end().chars().take(200).collect(),
        })
    }

    /// The error for a host that stopped answering: its exit status when
    /// it has exited.
    fn died(&mut self) -> Error {
        self.writer = None;
        let status = match self.child.wait() {
            Ok(s) => format!(" ({s})"),
            Err(_) => String::new(),
        };
        Error::Died {
            python: self.python.clone(),
            status,
        }
    }

    /// Ends the host: closes its input (it exits on EOF) and waits for it.
    pub fn close(&mut self) {
        self.writer = None;
        let _ = self.child.wait();
    }
}

impl Drop for Channel {
    fn drop(&mut self) {
        self.close();
    }
}

/// Parses one line from the host.
fn parse(line: &str) -> Option<Message> {
    let value: Value = serde_json::from_str(line).ok()?;
    let object = value.as_object()?;
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(String::from);
    match object.get("id").and_then(Value::as_u64) {
        None => {
            if object.get("method")?.as_str()? != "log" {
                return None;
            }
            let params = object.get("params")?;
            Some(Message::Log(super::LogRecord {
                name: text(params.get("name")).unwrap_or_default(),
                level: params.get("level").and_then(Value::as_i64).unwrap_or(20),
                message: text(params.get("message")).unwrap_or_default(),
            }))
        }
        Some(id) => {
            if let Some(method) = object.get("method") {
                return Some(Message::Request {
                    id,
                    method: method.as_str()?.to_string(),
                    params: object.get("params").cloned().unwrap_or(Value::Null),
                });
            }
            if let Some(error) = object.get("error") {
                let doing = error
                    .get("doing")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(|d| text(Some(d))).collect())
                    .unwrap_or_default();
                return Some(Message::Answer {
                    id,
                    outcome: Err(Raised {
                        kind: text(error.get("type")).unwrap_or_else(|| "Error".into()),
                        message: text(error.get("message")).unwrap_or_default(),
                        traceback: text(error.get("traceback")).filter(|t| !t.is_empty()),
                        doing,
                    }),
                });
            }
            Some(Message::Answer {
                id,
                outcome: Ok(object.get("result").cloned().unwrap_or(Value::Null)),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_parse_into_requests_answers_and_logs() {
        match parse(r#"{"id": 3, "method": "get", "params": {"section": "a"}}"#) {
            Some(Message::Request { id, method, params }) => {
                assert_eq!((id, method.as_str()), (3, "get"));
                assert_eq!(params["section"], "a");
            }
            other => panic!("{other:?}"),
        }
        match parse(r#"{"id": 1, "result": null}"#) {
            Some(Message::Answer { id: 1, outcome }) => assert!(outcome.unwrap().is_null()),
            other => panic!("{other:?}"),
        }
        match parse(
            r#"{"id": 2, "error": {"type": "UserError", "message": "no", "traceback": null, "doing": ["Installing x."]}}"#,
        ) {
            Some(Message::Answer { id: 2, outcome }) => {
                let e = outcome.unwrap_err();
                assert_eq!((e.kind.as_str(), e.message.as_str()), ("UserError", "no"));
                assert_eq!(e.doing, ["Installing x."]);
                assert!(e.traceback.is_none());
            }
            other => panic!("{other:?}"),
        }
        match parse(r#"{"method": "log", "params": {"name": "p", "level": 30, "message": "m"}}"#) {
            Some(Message::Log(r)) => assert_eq!((r.name.as_str(), r.level), ("p", 30)),
            other => panic!("{other:?}"),
        }
        assert!(parse("not json").is_none());
        assert!(parse(r#"{"method": "other"}"#).is_none());
    }
}
