//! The shape of the code, checked: the `crate::` imports between source files form no cycle,
//! so the layers stay in order (web, cli -> app -> mail, store, links -> matching, domain).
//! Read from the source as text; `use` trees, `super::` and inline `crate::` paths count.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module path (`web::admin`) -> file, for every file under `src/`.
fn modules() -> BTreeMap<String, PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeMap::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path.strip_prefix(&root).unwrap().with_extension("");
            let mut parts: Vec<String> = relative
                .iter()
                .map(|p| p.to_string_lossy().to_string())
                .collect();
            if matches!(
                parts.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                parts.pop();
            }
            out.insert(parts.join("::"), path);
        }
    }
    out
}

/// The source without comments and with the insides of string and character literals
/// blanked, so that a path in a doc comment is not an import and a `{` in a format string
/// does not open a block.
fn code_only(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    while i < chars.len() {
        let rest = &chars[i..];
        if rest.starts_with(&['/', '/']) {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if rest.starts_with(&['/', '*']) {
            i += 2;
            while i < chars.len() && !chars[i..].starts_with(&['*', '/']) {
                i += 1;
            }
            i += 2;
        } else if chars[i] == 'r' && matches!(chars.get(i + 1), Some('"' | '#')) {
            // Raw string: r"..." or r#"..."#.
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(chars[i]);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= chars.len() {
                    break;
                }
                if chars[j] == '"' && (0..hashes).all(|k| chars.get(j + 1 + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if chars[i] == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if chars[i] == '\''
            && (chars.get(i + 2) == Some(&'\'') || chars.get(i + 1) == Some(&'\\'))
        {
            // A character literal (a lifetime has no closing quote).
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("' '");
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// The inline modules (`mod name { ... }`) of a file, as byte ranges with their names.
fn inline_modules(code: &str) -> Vec<(std::ops::Range<usize>, String)> {
    let mut out = Vec::new();
    for (at, _) in code.match_indices("mod ") {
        if at > 0 && is_ident(code[..at].chars().last().unwrap()) {
            continue;
        }
        let after = &code[at + 4..];
        let name: String = after.chars().take_while(|c| is_ident(*c)).collect();
        let rest = after[name.len()..].trim_start();
        if name.is_empty() || !rest.starts_with('{') {
            continue;
        }
        let open = code.len() - rest.len();
        let mut depth = 0;
        for (k, c) in code[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        out.push((open..open + k, name.clone()));
                        break;
                    }
                }
                _ => {}
            }
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Expands a `use` tree starting at `text` (after `crate::` or `super::`) into paths.
fn use_tree(text: &str, prefix: Vec<String>, out: &mut Vec<Vec<String>>) -> usize {
    let mut path = prefix;
    let mut i = 0;
    let bytes: Vec<char> = text.chars().collect();
    loop {
        while i < bytes.len() && bytes[i].is_whitespace() {
            i += 1;
        }
        if i >= bytes.len() {
            out.push(path);
            return i;
        }
        if bytes[i] == '{' {
            i += 1;
            loop {
                while i < bytes.len() && (bytes[i].is_whitespace() || bytes[i] == ',') {
                    i += 1;
                }
                if i >= bytes.len() || bytes[i] == '}' {
                    return i + 1;
                }
                let rest: String = bytes[i..].iter().collect();
                i += use_tree(&rest, path.clone(), out);
            }
        }
        let start = i;
        while i < bytes.len() && is_ident(bytes[i]) {
            i += 1;
        }
        if start == i {
            // `*`, `;` or the end of the tree.
            out.push(path);
            return i;
        }
        let ident: String = bytes[start..i].iter().collect();
        if ident != "self" {
            path.push(ident);
        }
        if bytes[i..].starts_with(&[':', ':']) {
            i += 2;
            continue;
        }
        // `as alias`, `,`, `}` or `;`: the path ends here.
        out.push(path);
        while i < bytes.len() && !matches!(bytes[i], ',' | '}' | ';') {
            i += 1;
        }
        return i;
    }
}

/// Every module path a file refers to through `crate::` or `super::`.
fn references(module: &str, source: &str) -> Vec<Vec<String>> {
    let source = code_only(source);
    let inline = inline_modules(&source);
    let own: Vec<String> = module
        .split("::")
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    let mut out = Vec::new();
    for (at, _) in source
        .match_indices("crate::")
        .chain(source.match_indices("super::"))
    {
        if at > 0 && is_ident(source[..at].chars().last().unwrap()) {
            continue;
        }
        let mut base = Vec::new();
        let mut text = &source[at..];
        if text.starts_with("super::") {
            // `super` leaves the innermost inline module, else the file's own module.
            let mut up = own.clone();
            up.extend(
                inline
                    .iter()
                    .filter(|(range, _)| range.contains(&at))
                    .map(|(_, name)| name.clone()),
            );
            while let Some(rest) = text.strip_prefix("super::") {
                up.pop();
                text = rest;
            }
            base = up;
        } else {
            text = &text["crate::".len()..];
        }
        use_tree(text, base, &mut out);
    }
    out
}

fn edges() -> BTreeMap<String, BTreeSet<String>> {
    let modules = modules();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, file) in &modules {
        let source = std::fs::read_to_string(file).unwrap();
        let targets = graph.entry(module.clone()).or_default();
        for path in references(module, &source) {
            let target = (1..=path.len())
                .rev()
                .map(|n| path[..n].join("::"))
                .find(|candidate| modules.contains_key(candidate));
            if let Some(target) = target {
                if &target != module && !target.is_empty() {
                    targets.insert(target);
                }
            }
        }
    }
    graph
}

/// The strongly connected groups of more than one module (Tarjan).
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in s.graph.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[w].min(s.low[v]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.index[w].min(s.low[v]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut group = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                group.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if group.len() > 1 {
                group.sort();
                s.out.push(group);
            }
        }
    }
    let mut state = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in graph.keys() {
        if !state.index.contains_key(v.as_str()) {
            visit(&mut state, v);
        }
    }
    state.out
}

#[test]
fn the_use_tree_reader_finds_every_path() {
    let found = references(
        "web::admin::events",
        "use crate::{a::b, c::{d, e::f as g}};\n// crate::ignored\nlet x = crate::h::i(1);\nuse super::{see_other, Errors};",
    );
    let found: Vec<String> = found.iter().map(|p| p.join("::")).collect();
    for expected in [
        "a::b",
        "c::d",
        "c::e::f",
        "h::i",
        "web::admin::see_other",
        "web::admin::Errors",
    ] {
        assert!(
            found.contains(&expected.to_string()),
            "{expected} in {found:?}"
        );
    }
    assert!(!found.iter().any(|p| p.contains("ignored")));
}

#[test]
fn the_cycle_finder_finds_a_cycle() {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    graph.entry("a".into()).or_default().insert("b".into());
    graph.entry("b".into()).or_default().insert("c".into());
    graph.entry("c".into()).or_default().insert("a".into());
    graph.entry("d".into()).or_default().insert("a".into());
    assert_eq!(cycles(&graph), vec![vec!["a", "b", "c"]]);
}

#[test]
fn the_source_files_import_each_other_without_a_cycle() {
    let graph = edges();
    let found = cycles(&graph);
    let described: Vec<String> = found
        .iter()
        .map(|group| {
            let members: BTreeSet<&String> = group.iter().collect();
            let arrows: Vec<String> = group
                .iter()
                .flat_map(|from| {
                    graph[from]
                        .iter()
                        .filter(|to| members.contains(to))
                        .map(move |to| format!("{from} -> {to}"))
                })
                .collect();
            arrows.join(", ")
        })
        .collect();
    assert!(found.is_empty(), "import cycles:\n{}", described.join("\n"));
}

/// Files under `src/web/` and `src/cli/` allowed to call the store themselves: none. A file
/// listed here while it is being reshaped is skipped by the rule below.
const STILL_CALLING_THE_STORE: &[&str] = &[];

/// What `web` and `cli` may do with the store handle without going through `app`: close it
/// when a command ends. Everything else (opening it included) is an `app::` call.
const STORE_LIFECYCLE: &[&str] = &["close"];

/// Every source file under `src/<dir>/`, as (path relative to the crate, code only).
fn files_under(dir: &str) -> Vec<(String, String)> {
    let crate_root = Path::new(env!("CARGO_MANIFEST_DIR"));
    modules()
        .into_values()
        .filter_map(|path| {
            let relative = path
                .strip_prefix(crate_root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            relative.starts_with(&format!("src/{dir}/")).then(|| {
                let source = std::fs::read_to_string(&path).unwrap();
                (relative, code_only(&source))
            })
        })
        .collect()
}

/// The names of the methods and associated functions defined in `impl Store { .. }` blocks
/// under `src/store/`.
fn store_methods() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (_, code) in files_under("store") {
        for (at, _) in code.match_indices("impl Store") {
            let rest = code[at + "impl Store".len()..].trim_start();
            if !rest.starts_with('{') {
                continue;
            }
            let open = code.len() - rest.len();
            let mut depth = 0;
            let mut close = code.len();
            for (k, c) in code[open..].char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            close = open + k;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let block = &code[open..close];
            for (fn_at, _) in block.match_indices("fn ") {
                if fn_at > 0 && is_ident(block[..fn_at].chars().last().unwrap()) {
                    continue;
                }
                let name: String = block[fn_at + 3..]
                    .chars()
                    .take_while(|c| is_ident(*c))
                    .collect();
                if !name.is_empty() {
                    names.insert(name);
                }
            }
        }
    }
    names
}

/// The store calls in a piece of code: `.name(` (spaces and line breaks allowed around the
/// dot, and a turbofish) for a name defined on `Store`, outside [`STORE_LIFECYCLE`], and any
/// `Store::name` path. The method rule goes by name, not by the receiver's type, so it also
/// catches a store reached through another variable; a method of another type that happens
/// to share a name with a store method counts too, and gets renamed.
fn store_calls(code: &str, methods: &BTreeSet<String>) -> Vec<String> {
    let mut found = Vec::new();
    for (at, _) in code.match_indices('.') {
        let after = code[at + 1..].trim_start();
        let name: String = after.chars().take_while(|c| is_ident(*c)).collect();
        let rest = after[name.len()..].trim_start();
        if name.is_empty() || !(rest.starts_with('(') || rest.starts_with("::<")) {
            continue;
        }
        if methods.contains(&name) && !STORE_LIFECYCLE.contains(&name.as_str()) {
            found.push(format!(".{name}("));
        }
    }
    for (at, _) in code.match_indices("Store::") {
        if at > 0 && is_ident(code[..at].chars().last().unwrap()) {
            continue;
        }
        let name: String = code[at + "Store::".len()..]
            .chars()
            .take_while(|c| is_ident(*c))
            .collect();
        found.push(format!("Store::{name}"));
    }
    found
}

#[test]
fn the_store_call_finder_finds_calls_split_over_lines() {
    let methods: BTreeSet<String> = ["find_trial", "close", "connect"]
        .into_iter()
        .map(String::from)
        .collect();
    let code = "let t = store\n    .find_trial(slug).await?;\nlet s = Store::connect(&url);\nstore.close().await;\napp::trials::find_trial(&store, slug);\nx.clone();";
    assert_eq!(
        store_calls(code, &methods),
        vec![".find_trial(", "Store::connect"]
    );
}

/// Web handlers and CLI commands translate requests and answers and call `app`; they hold
/// the store handle only to pass it to `app` functions (and to close it when a command
/// ends). So no file under `src/web/` or `src/cli/` calls a method defined on `Store` or a
/// `Store::` function, and none mentions `sqlx`: SQL lives in `src/store/` alone.
#[test]
fn web_and_cli_call_the_application_layer_not_the_store() {
    let methods = store_methods();
    assert!(
        methods.contains("find_trial") && methods.contains("migrate"),
        "the reader of `impl Store` blocks found {methods:?}"
    );
    let mut offences = Vec::new();
    for dir in ["web", "cli"] {
        for (file, code) in files_under(dir) {
            if code.contains("sqlx") {
                offences.push(format!("{file}: mentions sqlx (SQL belongs in src/store/)"));
            }
            if STILL_CALLING_THE_STORE.contains(&file.as_str()) {
                continue;
            }
            for call in store_calls(&code, &methods) {
                offences.push(format!("{file}: calls the store: {call}"));
            }
        }
    }
    assert!(
        offences.is_empty(),
        "web and cli must go through app:\n{}",
        offences.join("\n")
    );
}

/// SQL is written in `src/store/` alone: no other file runs a query of its own (the
/// application layer may hold a transaction to pass to store functions, nothing more).
#[test]
fn queries_are_written_in_the_store_alone() {
    let mut offences = Vec::new();
    for dir in [
        "app", "web", "cli", "mail", "webhooks", "matching", "domain", "library",
    ] {
        for (file, code) in files_under(dir) {
            for query in ["sqlx::query", "sqlx::raw_sql", "query_as(", "query_scalar("] {
                if code.contains(query) {
                    offences.push(format!("{file}: runs `{query}`"));
                }
            }
        }
    }
    assert!(
        offences.is_empty(),
        "SQL belongs in src/store/:\n{}",
        offences.join("\n")
    );
}
