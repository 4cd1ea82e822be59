//! A small terminal for the progress tests: replays what a pseudo-terminal
//! received (text, `\r`, `\n`, cursor up and down `ESC[nA` `ESC[nB`,
//! erase line `ESC[2K` `ESC[K`, erase below `ESC[J`) on a screen of a given
//! width that wraps like a VT100 (a character written past the last
//! column goes to the start of the next row), and keeps a snapshot of the
//! screen before each erase: the frames that were drawn.

/// A row of the screen.
#[derive(Debug, Default, Clone)]
struct Row {
    chars: Vec<char>,
    /// Continues the row above (it wrapped).
    continued: bool,
}

impl Row {
    fn text(&self) -> String {
        self.chars.iter().collect()
    }
}

/// The screen after a replay.
#[derive(Debug, Default)]
pub struct Screen {
    width: usize,
    rows: Vec<Row>,
    row: usize,
    col: usize,
    frames: Vec<Vec<String>>,
}

impl Screen {
    /// Replays `received` on an empty screen `width` columns wide.
    pub fn replay(received: &str, width: usize) -> Screen {
        let mut screen = Screen {
            width,
            rows: vec![Row::default()],
            ..Screen::default()
        };
        let mut chars = received.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\r' => screen.col = 0,
                '\n' => screen.down(1, false),
                '\x1b' if chars.peek() == Some(&'[') => {
                    chars.next();
                    let mut arg = String::new();
                    while let Some(&d) = chars.peek() {
                        if d.is_ascii_digit() || d == ';' || d == '?' {
                            arg.push(d);
                            chars.next();
                        } else {
                            break;
                        }
                    }
                    let Some(op) = chars.next() else { break };
                    screen.control(&arg, op);
                }
                c => screen.put(c),
            }
        }
        screen
    }

    fn down(&mut self, n: usize, wrapped: bool) {
        self.row += n;
        while self.rows.len() <= self.row {
            self.rows.push(Row::default());
        }
        if wrapped {
            self.rows[self.row].continued = true;
        }
    }

    fn control(&mut self, arg: &str, op: char) {
        let n: usize = arg.parse().unwrap_or(1);
        match op {
            'A' => self.row = self.row.saturating_sub(n),
            'B' => self.down(n, false),
            'K' if arg == "2" => {
                self.snapshot();
                self.rows[self.row] = Row::default();
            }
            'K' => {
                self.snapshot();
                self.rows[self.row].chars.truncate(self.col);
            }
            'J' => {
                self.snapshot();
                self.rows[self.row].chars.truncate(self.col);
                self.rows.truncate(self.row + 1);
            }
            // Anything else (the harness sets NO_COLOR: no colours)
            // draws nothing.
            _ => {}
        }
    }

    fn put(&mut self, c: char) {
        if self.width > 0 && self.col >= self.width {
            self.col = 0;
            self.down(1, true);
        }
        let line = &mut self.rows[self.row].chars;
        if line.len() < self.col {
            line.resize(self.col, ' ');
        }
        if self.col < line.len() {
            line[self.col] = c;
        } else {
            line.push(c);
        }
        self.col += 1;
    }

    fn snapshot(&mut self) {
        let rows = self.rows.iter().map(Row::text).collect();
        self.frames.push(rows);
    }

    /// What the screen shows at the end: rows joined by `\n`, a wrapped
    /// row joined to the one it continues.
    pub fn text(&self) -> String {
        let mut text = String::new();
        for (i, row) in self.rows.iter().enumerate() {
            if i > 0 && !row.continued {
                text.push('\n');
            }
            text.push_str(&row.text());
        }
        text
    }

    /// The screen as it was before each erase, oldest first, a row each
    /// (trailing blanks removed).
    pub fn frames(&self) -> Vec<Vec<String>> {
        self.frames
            .iter()
            .map(|f| f.iter().map(|r| r.trim_end().to_string()).collect())
            .collect()
    }

    /// Every row some frame showed that the final screen does not: what
    /// was drawn and then cleared, each once, in the order first seen.
    pub fn drawn(&self) -> Vec<String> {
        let end = self.text();
        let kept: std::collections::HashSet<&str> = end.lines().collect();
        let mut drawn: Vec<String> = Vec::new();
        for frame in self.frames() {
            for line in frame {
                if !line.is_empty() && !kept.contains(line.as_str()) && !drawn.contains(&line) {
                    drawn.push(line);
                }
            }
        }
        drawn
    }
}
