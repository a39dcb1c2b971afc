//! Safe Markdown rendering for technique pages.
//!
//! Technique bodies are written by console users, so the output must never
//! carry markup or script from the input:
//!
//! - raw HTML, block or inline, is shown as escaped text;
//! - links keep their `href` only for `http:`, `https:` and `mailto:` URLs
//!   and for relative URLs; anything else (`javascript:`, `data:`, ...) is
//!   rendered as the plain link text;
//! - images are rendered as links to the image, using the alt text, so no
//!   remote content is loaded; unsafe ones become plain alt text.
//!
//! Text, code and attribute values are escaped by pulldown-cmark's HTML
//! writer.

use pulldown_cmark::{html, CowStr, Event, HeadingLevel, LinkType, Options, Parser, Tag, TagEnd};

fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH
}

/// Renders Markdown to an HTML fragment that is safe to embed in a page.
pub fn render_markdown(md: &str) -> String {
    // One entry per open link or image: whether an `<a>` was emitted for it.
    let mut anchors: Vec<bool> = Vec::new();

    let events = Parser::new_ext(md, options()).filter_map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Some(Event::Text(raw)),
        Event::Start(Tag::HtmlBlock) => Some(Event::Start(Tag::Paragraph)),
        Event::End(TagEnd::HtmlBlock) => Some(Event::End(TagEnd::Paragraph)),

        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        })
        | Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => {
            // Never nest anchors (an image or link inside a link's text).
            let inside_anchor = anchors.iter().any(|&open| open);
            // Email autolinks are written out by the HTML writer as
            // "mailto:" followed by the address.
            let safe = link_type == LinkType::Email || is_safe_url(&dest_url);
            let emit = safe && !inside_anchor;
            anchors.push(emit);
            emit.then_some(Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }))
        }
        Event::End(TagEnd::Link) | Event::End(TagEnd::Image) => anchors
            .pop()
            .unwrap_or(false)
            .then_some(Event::End(TagEnd::Link)),

        other => Some(other),
    });

    let mut out = String::with_capacity(md.len() + md.len() / 2);
    html::push_html(&mut out, events);
    out
}

/// The text of every level-2 heading (`## ...`), in order, with inline
/// formatting removed. Headings inside code blocks are not headings.
pub fn h2_headings(md: &str) -> Vec<String> {
    let mut headings = Vec::new();
    let mut current: Option<String> = None;
    for event in Parser::new_ext(md, options()) {
        match event {
            Event::Start(Tag::Heading {
                level: HeadingLevel::H2,
                ..
            }) => current = Some(String::new()),
            Event::End(TagEnd::Heading(HeadingLevel::H2)) => {
                if let Some(text) = current.take() {
                    headings.push(text.trim().to_string());
                }
            }
            Event::Text(text) | Event::Code(text) => {
                if let Some(current) = current.as_mut() {
                    current.push_str(&text);
                }
            }
            _ => {}
        }
    }
    headings
}

/// Whether a link destination may be used as an `href`: a relative URL or
/// one whose scheme is `http`, `https` or `mailto`.
fn is_safe_url(url: &CowStr<'_>) -> bool {
    // Browsers drop tabs and newlines anywhere in a URL, and leading or
    // trailing control characters and spaces, before looking at the scheme.
    let cleaned: String = url
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    let cleaned = cleaned.trim_matches(|c: char| c <= ' ');
    match cleaned.find([':', '/', '?', '#']) {
        // A colon before any '/', '?' or '#' introduces a scheme.
        Some(i) if cleaned[i..].starts_with(':') => {
            let scheme = &cleaned[..i];
            ["http", "https", "mailto"]
                .iter()
                .any(|allowed| scheme.eq_ignore_ascii_case(allowed))
        }
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_block_is_shown_as_text() {
        let html = render_markdown("<script>alert(1)</script>");
        assert!(!html.contains("<script"), "{html}");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{html}"
        );
    }

    #[test]
    fn inline_html_is_shown_as_text() {
        let html =
            render_markdown("Hello <b onclick=\"x()\">there</b> <img src=x onerror=alert(1)>");
        assert!(!html.contains("<b"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(
            html.contains("&lt;b onclick=\"x()\"&gt;there&lt;/b&gt;"),
            "{html}"
        );
    }

    #[test]
    fn html_blocks_of_every_kind_are_escaped() {
        for raw in [
            "<div>\n<iframe src=\"https://evil.example\"></iframe>\n</div>",
            "<!-- a comment -->",
            "<style>body{display:none}</style>",
            "<?php echo 1; ?>",
            "<![CDATA[ x ]]>",
            "<svg onload=alert(1)>",
        ] {
            let html = render_markdown(raw);
            let tags_left = html.replace("<p>", "").replace("</p>", "");
            assert!(!tags_left.contains('<'), "{raw:?} -> {html}");
        }
    }

    #[test]
    fn javascript_link_loses_its_href() {
        let html = render_markdown("[x](javascript:alert(1))");
        assert_eq!(html, "<p>x</p>\n");
    }

    #[test]
    fn unsafe_schemes_are_removed_however_written() {
        for md in [
            "[x](JavaScript:alert(1))",
            "[x](  javascript:alert(1))",
            "[x](<java\tscript:alert(1)>)",
            "[x](javascript&#58;alert(1))",
            "[x](&#x6A;avascript:alert(1))",
            "[x](data:text/html;base64,PHNjcmlwdD4=)",
            "[x](vbscript:msgbox)",
            "[x](file:///etc/passwd)",
            "[x][ref]\n\n[ref]: javascript:alert(1)",
            "<javascript:alert(1)>",
        ] {
            let html = render_markdown(md);
            assert!(!html.contains("href"), "{md:?} -> {html}");
        }
    }

    #[test]
    fn safe_links_are_kept() {
        let cases = [
            (
                "[a](https://example.org/x?y=1&z=2)",
                "<a href=\"https://example.org/x?y=1&amp;z=2\">a</a>",
            ),
            (
                "[a](http://example.org)",
                "<a href=\"http://example.org\">a</a>",
            ),
            (
                "[a](mailto:km@example.org)",
                "<a href=\"mailto:km@example.org\">a</a>",
            ),
            (
                "[a](/techniques/peer-assist)",
                "<a href=\"/techniques/peer-assist\">a</a>",
            ),
            (
                "[a](peer-assist#example)",
                "<a href=\"peer-assist#example\">a</a>",
            ),
            ("[a](#how-to-run-it)", "<a href=\"#how-to-run-it\">a</a>"),
            ("[a](./x/y:z)", "<a href=\"./x/y:z\">a</a>"),
            (
                "<https://example.org>",
                "<a href=\"https://example.org\">https://example.org</a>",
            ),
            (
                "<km@example.org>",
                "<a href=\"mailto:km@example.org\">km@example.org</a>",
            ),
        ];
        for (md, expected) in cases {
            let html = render_markdown(md);
            assert!(html.contains(expected), "{md:?} -> {html}");
        }
    }

    #[test]
    fn link_titles_and_text_are_escaped() {
        let html = render_markdown("[<i>x</i>](https://example.org \"a\\\"b\")");
        assert!(!html.contains("<i>"), "{html}");
        assert!(html.contains("title=\"a&quot;b\""), "{html}");
    }

    #[test]
    fn images_become_links_or_text() {
        let html = render_markdown("![A diagram](https://example.org/a.png)");
        assert_eq!(
            html,
            "<p><a href=\"https://example.org/a.png\">A diagram</a></p>\n"
        );

        let html =
            render_markdown("![bad](javascript:alert(1)) ![data](data:image/png;base64,AAAA)");
        assert_eq!(html, "<p>bad data</p>\n");

        // An image inside a link: no nested anchors, no <img>.
        let html = render_markdown("[![logo](https://example.org/l.png)](https://example.org)");
        assert_eq!(html, "<p><a href=\"https://example.org\">logo</a></p>\n");
        assert!(!html.contains("<img"));
    }

    #[test]
    fn ordinary_markdown_renders() {
        let md = "## How to run it\n\n1. First *step*\n2. Second **step**\n\n- a\n- b\n\n`code` and ~~old~~\n\n> quote\n";
        let html = render_markdown(md);
        for fragment in [
            "<h2>How to run it</h2>",
            "<ol>",
            "<li>First <em>step</em></li>",
            "<li>Second <strong>step</strong></li>",
            "<ul>",
            "<li>a</li>",
            "<code>code</code>",
            "<del>old</del>",
            "<blockquote>",
        ] {
            assert!(html.contains(fragment), "missing {fragment:?} in {html}");
        }
    }

    #[test]
    fn code_is_escaped() {
        let html = render_markdown("```html\n<script>x</script>\n```\n\nand `<b>`");
        assert!(html.contains("&lt;script&gt;x&lt;/script&gt;"), "{html}");
        assert!(html.contains("<code>&lt;b&gt;</code>"), "{html}");
        assert!(!html.contains("<script"), "{html}");
    }

    #[test]
    fn collects_h2_headings() {
        let md = "# Title\n\n## What it is for\n\ntext\n\n```\n## not a heading\n```\n\n### Sub\n\n## How *to* `run` it\n";
        assert_eq!(h2_headings(md), ["What it is for", "How to run it"]);
        assert!(h2_headings("").is_empty());
    }
}
