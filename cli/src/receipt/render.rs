//! The report in three formats: aligned plain text, GitHub markdown, and a self-contained HTML
//! document. Every value is escaped for its format.

use std::fmt::Write;

use super::report::{Report, Table};

/// Paragraph width of the text format.
const WIDTH: usize = 100;

/// Greedy word wrap; a word longer than the width (an ARN) gets a line of its own.
fn wrap(text: &str, indent: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty()
            && indent.len() + line.chars().count() + 1 + word.chars().count() > width
        {
            out.push_str(indent);
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push_str(indent);
        out.push_str(&line);
        out.push('\n');
    }
    out
}

fn text_table(t: &Table) -> String {
    let cols = t.headers.len();
    let mut widths: Vec<usize> = t.headers.iter().map(|h| h.chars().count()).collect();
    for row in &t.rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut l = String::new();
        for (i, cell) in cells.enumerate() {
            if i > 0 {
                l.push_str("  ");
            }
            let pad = widths[i].saturating_sub(cell.chars().count());
            if t.numeric[i] {
                l.push_str(&" ".repeat(pad));
                l.push_str(cell);
            } else {
                l.push_str(cell);
                l.push_str(&" ".repeat(pad));
            }
        }
        l.trim_end().to_string() + "\n"
    };
    let mut out = String::new();
    out.push_str(&line(&mut t.headers.iter().copied()));
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    out.push_str(&line(&mut rule.iter().map(String::as_str)));
    for row in &t.rows {
        debug_assert_eq!(row.len(), cols);
        out.push_str(&line(&mut row.iter().map(String::as_str)));
    }
    out
}

/// Aligned plain text for the terminal.
pub fn text(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}\n{}\n",
        r.title,
        "=".repeat(r.title.chars().count())
    );
    out.push_str(&wrap(&r.summary.join(" "), "", WIDTH));
    if let Some(n) = &r.next {
        out.push_str("\nWhat to do next:\n");
        for p in &n.problems {
            out.push_str(&wrap(p, "  ", WIDTH));
        }
        out.push_str(&wrap(&n.advice, "  ", WIDTH));
        for c in &n.commands {
            let _ = writeln!(out, "    {c}");
        }
        if let Some(a) = &n.after {
            out.push_str(&wrap(a, "  ", WIDTH));
        }
    }
    if !r.notes.is_empty() {
        out.push_str("\nWorth knowing:\n");
        for n in &r.notes {
            let w = wrap(n, "    ", WIDTH);
            let _ = write!(out, "  - {}", w.trim_start());
        }
    }
    for t in &r.tables {
        let _ = writeln!(out, "\n{}", t.title);
        out.push_str(&text_table(t));
    }
    out.push_str("\nDetails\n");
    let label = r.details.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
    for (l, v) in &r.details {
        let _ = writeln!(out, "  {:<label$}  {v}", format!("{l}:"), label = label + 1);
    }
    out
}

/// Markdown text with every character that could make markup (emphasis, code, links, HTML,
/// table cells) escaped: the value reads as it is in GitHub's rendering.
pub fn md_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '&' | '#' | '!' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// GitHub markdown: one table per destination.
pub fn markdown(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", md_escape(&r.title));
    let _ = writeln!(out, "{}\n", md_escape(&r.summary.join(" ")));
    if let Some(n) = &r.next {
        out.push_str("## What to do next\n\n");
        for p in &n.problems {
            let _ = writeln!(out, "- {}", md_escape(p));
        }
        if !n.problems.is_empty() {
            out.push('\n');
        }
        let _ = writeln!(out, "{}\n", md_escape(&n.advice));
        if !n.commands.is_empty() {
            // A fence longer than any run of backticks in the commands.
            let mut fence = "```".to_string();
            while n.commands.iter().any(|c| c.contains(&fence)) {
                fence.push('`');
            }
            let _ = writeln!(out, "{fence}sh");
            for c in &n.commands {
                let _ = writeln!(out, "{c}");
            }
            let _ = writeln!(out, "{fence}\n");
        }
        if let Some(a) = &n.after {
            let _ = writeln!(out, "{}\n", md_escape(a));
        }
    }
    if !r.notes.is_empty() {
        out.push_str("## Worth knowing\n\n");
        for n in &r.notes {
            let _ = writeln!(out, "- {}", md_escape(n));
        }
        out.push('\n');
    }
    for t in &r.tables {
        let _ = writeln!(out, "## {}\n", md_escape(t.title));
        let cells = |cs: &mut dyn Iterator<Item = String>| {
            let v: Vec<String> = cs.collect();
            format!("| {} |\n", v.join(" | "))
        };
        out.push_str(&cells(&mut t.headers.iter().map(|h| md_escape(h))));
        out.push_str(&cells(
            &mut t
                .numeric
                .iter()
                .map(|n| if *n { "--:" } else { "---" }.to_string()),
        ));
        for row in &t.rows {
            out.push_str(&cells(&mut row.iter().map(|c| md_escape(c))));
        }
        out.push('\n');
    }
    out.push_str("## Details\n\n");
    for (l, v) in &r.details {
        let _ = writeln!(out, "- **{}:** {}", md_escape(l), md_escape(v));
    }
    out
}

/// HTML text: `& < > " '` escaped, in element content and attribute values alike.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em;max-width:80em;color:#111}
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.6em}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}
th,td{border:1px solid #999;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#eee}td.num{text-align:right;font-variant-numeric:tabular-nums}
td{word-break:break-word}pre{background:#f4f4f4;padding:.5em}
dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{font-weight:bold}dd{margin:0;word-break:break-all}
.outcome{font-weight:bold}";

/// A self-contained HTML document (no script, no external resource), fit for filing.
pub fn html(r: &Report) -> String {
    let e = html_escape;
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    let _ = writeln!(out, "<title>{}</title>", e(&r.title));
    let _ = writeln!(out, "<style>\n{STYLE}\n</style>\n</head>\n<body>");
    let _ = writeln!(out, "<h1>{}</h1>", e(&r.title));
    let _ = writeln!(
        out,
        "<p class=\"summary\"><span class=\"outcome\">{}.</span> {}</p>",
        e(r.outcome),
        e(&r.summary.join(" "))
    );
    if let Some(n) = &r.next {
        out.push_str("<section class=\"next\">\n<h2>What to do next</h2>\n");
        if !n.problems.is_empty() {
            out.push_str("<ul>\n");
            for p in &n.problems {
                let _ = writeln!(out, "<li>{}</li>", e(p));
            }
            out.push_str("</ul>\n");
        }
        let _ = writeln!(out, "<p>{}</p>", e(&n.advice));
        if !n.commands.is_empty() {
            let cmds: Vec<String> = n.commands.iter().map(|c| e(c)).collect();
            let _ = writeln!(out, "<pre><code>{}</code></pre>", cmds.join("\n"));
        }
        if let Some(a) = &n.after {
            let _ = writeln!(out, "<p>{}</p>", e(a));
        }
        out.push_str("</section>\n");
    }
    if !r.notes.is_empty() {
        out.push_str("<h2>Worth knowing</h2>\n<ul>\n");
        for n in &r.notes {
            let _ = writeln!(out, "<li>{}</li>", e(n));
        }
        out.push_str("</ul>\n");
    }
    for t in &r.tables {
        let _ = writeln!(out, "<h2>{}</h2>", e(t.title));
        let _ = writeln!(out, "<table id=\"{}\">\n<thead>\n<tr>", e(t.id));
        for h in &t.headers {
            let _ = writeln!(out, "<th scope=\"col\">{}</th>", e(h));
        }
        out.push_str("</tr>\n</thead>\n<tbody>\n");
        for row in &t.rows {
            out.push_str("<tr>");
            for (cell, numeric) in row.iter().zip(&t.numeric) {
                if *numeric {
                    let _ = write!(out, "<td class=\"num\">{}</td>", e(cell));
                } else {
                    let _ = write!(out, "<td>{}</td>", e(cell));
                }
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</tbody>\n</table>\n");
    }
    out.push_str("<h2>Details</h2>\n<dl>\n");
    for (l, v) in &r.details {
        let _ = writeln!(out, "<dt>{}</dt><dd>{}</dd>", e(l), e(v));
    }
    out.push_str("</dl>\n</body>\n</html>\n");
    out
}
