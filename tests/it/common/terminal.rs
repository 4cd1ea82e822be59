//! A small terminal for the progress tests: replays what a pseudo-terminal
//! received (text, `\r`, `\n`, cursor up `ESC[nA`, erase line `ESC[2K`,
//! erase below `ESC[J`) into lines, and keeps a snapshot of the screen
//! before each erase: the frames that were drawn. Lines do not wrap (the
//! progress lines are checked to fit separately).

/// The screen after a replay.
#[derive(Debug, Default)]
pub struct Screen {
    rows: Vec<Vec<char>>,
    row: usize,
    col: usize,
    frames: Vec<Vec<String>>,
}

impl Screen {
    /// Replays `received` on an empty screen.
    pub fn replay(received: &str) -> Screen {
        let mut screen = Screen {
            rows: vec![Vec::new()],
            ..Screen::default()
        };
        let mut chars = received.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\r' => screen.col = 0,
                '\n' => {
                    screen.row += 1;
                    if screen.row == screen.rows.len() {
                        screen.rows.push(Vec::new());
                    }
                }
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

    fn control(&mut self, arg: &str, op: char) {
        let n: usize = arg.parse().unwrap_or(1);
        match op {
            'A' => self.row = self.row.saturating_sub(n),
            'K' if arg == "2" => {
                self.snapshot();
                self.rows[self.row].clear();
            }
            'K' => {
                self.snapshot();
                self.rows[self.row].truncate(self.col);
            }
            'J' => {
                self.snapshot();
                self.rows[self.row].truncate(self.col);
                self.rows.truncate(self.row + 1);
            }
            // Colours and the like stay in the text, as written.
            _ => {
                for c in format!("\x1b[{arg}{op}").chars() {
                    self.put(c);
                }
            }
        }
    }

    fn put(&mut self, c: char) {
        let line = &mut self.rows[self.row];
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
        let rows = self.rows.iter().map(|r| r.iter().collect()).collect();
        self.frames.push(rows);
    }

    /// What the screen shows at the end, lines joined by `\n`.
    pub fn text(&self) -> String {
        let rows: Vec<String> = self.rows.iter().map(|r| r.iter().collect()).collect();
        rows.join("\n")
    }

    /// The screen as it was before each erase, oldest first.
    pub fn frames(&self) -> &[Vec<String>] {
        &self.frames
    }

    /// Every line some frame showed that the final screen does not: what
    /// was drawn and then cleared, each once, in the order first seen.
    pub fn drawn(&self) -> Vec<String> {
        let end = self.text();
        let kept: std::collections::HashSet<&str> = end.lines().collect();
        let mut drawn: Vec<String> = Vec::new();
        for frame in &self.frames {
            for line in frame {
                if !line.is_empty() && !kept.contains(line.as_str()) && !drawn.contains(line) {
                    drawn.push(line.clone());
                }
            }
        }
        drawn
    }
}
