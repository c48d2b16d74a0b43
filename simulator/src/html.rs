//! HTML building blocks for the simulator's pages: escaping for every interpolated value,
//! JSON that is safe inside a `<script>` element, and the shared document frame and CSS.
//! Callers pass only escaped text or markup built from escaped text.

use serde_json::Value;

/// Escapes text for element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// JSON text for a `<script type="application/json">` element: `<`, `>` and `&` are written
/// as `\u003c`-style escapes, so no value can close the element.
pub fn script_json(value: &Value) -> String {
    value
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// A complete page: `title` is escaped here, `body` must already be safe markup.
pub fn document(title: &str, body_class: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n\
         <body class=\"{body_class}\">\n{body}\n</body>\n</html>\n",
        title = escape(title),
        body_class = escape(body_class),
    )
}

const STYLE: &str = "
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 -apple-system, 'Segoe UI', Roboto, sans-serif; color: #172b4d; background: #fff; }
a { color: #0c66e4; }
.topbar { display: flex; align-items: center; gap: 16px; height: 48px; padding: 0 16px; background: #1d2125; color: #fff; }
.topbar a { color: #fff; text-decoration: none; }
.topbar .brand { font-weight: 600; }
.topbar .site-name { font-weight: 600; opacity: .9; }
.topbar .user-switcher { margin-left: auto; display: flex; gap: 8px; align-items: center; }
.topbar .user-switcher a { padding: 2px 8px; border-radius: 3px; }
.topbar .user-switcher a[aria-current] { background: #579dff; color: #1d2125; }
.layout { display: flex; min-height: calc(100vh - 48px); }
.sidebar { width: 220px; flex: none; padding: 16px; background: #f7f8f9; border-right: 1px solid #dcdfe4; }
.sidebar h2 { font-size: 12px; text-transform: uppercase; color: #626f86; margin: 16px 0 4px; }
.sidebar ul { list-style: none; margin: 0; padding: 0; }
.sidebar li a { display: block; padding: 4px 8px; border-radius: 3px; text-decoration: none; color: #172b4d; }
.sidebar li a[aria-current] { background: #e9f2ff; color: #0c66e4; }
.content { flex: 1; min-width: 0; padding: 16px 24px; }
.page-title { font-size: 24px; margin: 0 0 16px; }
#ap-iframe { display: block; width: 100%; height: 400px; border: 0; }
.index { max-width: 960px; margin: 0 auto; padding: 16px 24px; }
.site { border: 1px solid #dcdfe4; border-radius: 6px; padding: 12px 16px; margin: 16px 0; }
.site h2 { margin: 0 0 8px; font-size: 18px; }
.site dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 0 0 8px; }
.site dt { color: #626f86; }
.site dd { margin: 0; }
.state-installed { color: #216e4e; font-weight: 600; }
.state-not-installed { color: #ae2e24; font-weight: 600; }
.actions { display: flex; gap: 8px; flex-wrap: wrap; align-items: center; }
.actions form { margin: 0; }
code { font: 12px/1.4 ui-monospace, monospace; background: #f1f2f4; padding: 1px 4px; border-radius: 3px; }
.notice { padding: 12px 16px; background: #fff7d6; border-radius: 6px; }
";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn script_json_cannot_close_the_script_element() {
        let text = script_json(&json!({"name": "</script><script>alert(1)</script>&"}));
        assert!(!text.contains('<') && !text.contains('>') && !text.contains('&'));
        let back: Value = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(back["name"], "</script><script>alert(1)</script>&");
    }

    #[test]
    fn document_escapes_the_title() {
        let page = document("<b>", "x", "<p>ok</p>");
        assert!(page.contains("<title>&lt;b&gt;</title>"));
        assert!(page.contains("<p>ok</p>"));
    }
}
