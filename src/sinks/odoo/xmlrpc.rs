//! A small XML-RPC encoder and decoder on quick-xml, for Odoo's
//! `/xmlrpc/2/common` and `/xmlrpc/2/object` endpoints.
//!
//! Values are [`serde_json::Value`]s: null ↔ `<nil/>` (Odoo enables
//! `allow_none` on requests), booleans, `<int>`/`<i4>`/`<i8>`, `<double>`,
//! `<string>` (and untyped `<value>text</value>`), `<array>`, `<struct>`;
//! `<dateTime.iso8601>` and `<base64>` decode as strings.

use quick_xml::events::Event;
use quick_xml::Reader;
use serde_json::{Map, Number, Value};

/// Escapes text for element content.
fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
}

fn encode_value(v: &Value, out: &mut String) {
    out.push_str("<value>");
    match v {
        Value::Null => out.push_str("<nil/>"),
        Value::Bool(b) => {
            out.push_str("<boolean>");
            out.push(if *b { '1' } else { '0' });
            out.push_str("</boolean>");
        }
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                if i32::try_from(i).is_ok() {
                    out.push_str(&format!("<int>{i}</int>"));
                } else {
                    out.push_str(&format!("<i8>{i}</i8>"));
                }
            } else {
                out.push_str(&format!("<double>{}</double>", n.as_f64().unwrap_or(0.0)));
            }
        }
        Value::String(s) => {
            out.push_str("<string>");
            escape(s, out);
            out.push_str("</string>");
        }
        Value::Array(a) => {
            out.push_str("<array><data>");
            for x in a {
                encode_value(x, out);
            }
            out.push_str("</data></array>");
        }
        Value::Object(m) => {
            out.push_str("<struct>");
            for (k, x) in m {
                out.push_str("<member><name>");
                escape(k, out);
                out.push_str("</name>");
                encode_value(x, out);
                out.push_str("</member>");
            }
            out.push_str("</struct>");
        }
    }
    out.push_str("</value>");
}

/// A `<methodCall>` document.
pub fn encode_call(method: &str, params: &[Value]) -> String {
    let mut out = String::from("<?xml version=\"1.0\"?>\n<methodCall><methodName>");
    escape(method, &mut out);
    out.push_str("</methodName><params>");
    for p in params {
        out.push_str("<param>");
        encode_value(p, &mut out);
        out.push_str("</param>");
    }
    out.push_str("</params></methodCall>\n");
    out
}

/// A `<methodResponse>` with one value (used by test servers).
pub fn encode_response(v: &Value) -> String {
    let mut out = String::from("<?xml version=\"1.0\"?>\n<methodResponse><params><param>");
    encode_value(v, &mut out);
    out.push_str("</param></params></methodResponse>\n");
    out
}

/// A `<methodResponse>` fault (used by test servers).
pub fn encode_fault(code: i64, message: &str) -> String {
    let mut m = Map::new();
    m.insert("faultCode".into(), Value::from(code));
    m.insert("faultString".into(), Value::from(message));
    let mut out = String::from("<?xml version=\"1.0\"?>\n<methodResponse><fault>");
    encode_value(&Value::Object(m), &mut out);
    out.push_str("</fault></methodResponse>\n");
    out
}

/// What a document holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    /// `<methodCall>`: name and parameters.
    Call(String, Vec<Value>),
    /// `<methodResponse>` with a value.
    Response(Value),
    /// `<methodResponse>` with a fault.
    Fault { code: i64, message: String },
}

/// A simple element tree.
#[derive(Debug, Default)]
struct Node {
    name: String,
    text: String,
    children: Vec<Node>,
}

fn parse_tree(xml: &str) -> Result<Node, String> {
    let mut reader = Reader::from_str(xml);
    let mut stack: Vec<Node> = vec![Node::default()];
    loop {
        let ev = reader
            .read_event()
            .map_err(|e| format!("XML error at {}: {e}", reader.buffer_position()))?;
        match ev {
            Event::Start(e) => stack.push(Node {
                name: String::from_utf8_lossy(e.local_name().as_ref()).into_owned(),
                ..Node::default()
            }),
            Event::Empty(e) => {
                let n = Node {
                    name: String::from_utf8_lossy(e.local_name().as_ref()).into_owned(),
                    ..Node::default()
                };
                if let Some(top) = stack.last_mut() {
                    top.children.push(n);
                }
            }
            Event::End(_) => {
                let n = stack.pop().ok_or("unbalanced XML")?;
                match stack.last_mut() {
                    Some(top) => top.children.push(n),
                    None => return Err("unbalanced XML".into()),
                }
            }
            Event::Text(t) => {
                let s = t.decode().map_err(|e| e.to_string())?;
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&s);
                }
            }
            Event::CData(t) => {
                let s = t.decode().map_err(|e| e.to_string())?;
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&s);
                }
            }
            Event::GeneralRef(r) => {
                let c = match r.resolve_char_ref().map_err(|e| e.to_string())? {
                    Some(c) => c,
                    None => match &*r {
                        [b'a', b'm', b'p'] => '&',
                        [b'l', b't'] => '<',
                        [b'g', b't'] => '>',
                        [b'q', b'u', b'o', b't'] => '"',
                        [b'a', b'p', b'o', b's'] => '\'',
                        other => {
                            return Err(format!(
                                "unknown entity &{};",
                                String::from_utf8_lossy(other)
                            ))
                        }
                    },
                };
                if let Some(top) = stack.last_mut() {
                    top.text.push(c);
                }
            }
            Event::DocType(_) => return Err("DTDs are not accepted".into()),
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
        }
    }
    if stack.len() != 1 {
        return Err("unclosed element".into());
    }
    let mut root = stack.pop().ok_or("empty document")?;
    if root.children.len() != 1 {
        return Err("expected one root element".into());
    }
    root.children.pop().ok_or_else(|| "empty document".into())
}

fn child<'a>(n: &'a Node, name: &str) -> Option<&'a Node> {
    n.children.iter().find(|c| c.name == name)
}

fn decode_value(v: &Node) -> Result<Value, String> {
    let Some(t) = v.children.first() else {
        return Ok(Value::String(v.text.clone()));
    };
    let txt = t.text.trim();
    Ok(match t.name.as_str() {
        "nil" => Value::Null,
        "boolean" => Value::Bool(txt == "1" || txt.eq_ignore_ascii_case("true")),
        "int" | "i4" | "i8" => Value::from(
            txt.parse::<i64>()
                .map_err(|_| format!("bad integer {txt:?}"))?,
        ),
        "double" => {
            let f = txt
                .parse::<f64>()
                .map_err(|_| format!("bad double {txt:?}"))?;
            Number::from_f64(f).map_or(Value::Null, Value::Number)
        }
        "string" | "dateTime.iso8601" | "base64" => Value::String(t.text.clone()),
        "array" => {
            let data = child(t, "data").ok_or("array without data")?;
            Value::Array(
                data.children
                    .iter()
                    .filter(|c| c.name == "value")
                    .map(decode_value)
                    .collect::<Result<_, _>>()?,
            )
        }
        "struct" => {
            let mut m = Map::new();
            for mem in t.children.iter().filter(|c| c.name == "member") {
                let name = child(mem, "name").ok_or("member without name")?;
                let val = child(mem, "value").ok_or("member without value")?;
                m.insert(name.text.clone(), decode_value(val)?);
            }
            Value::Object(m)
        }
        other => return Err(format!("unknown XML-RPC type <{other}>")),
    })
}

fn params(n: &Node) -> Result<Vec<Value>, String> {
    match child(n, "params") {
        None => Ok(Vec::new()),
        Some(ps) => ps
            .children
            .iter()
            .filter(|c| c.name == "param")
            .map(|p| child(p, "value").ok_or("param without value".to_string()))
            .map(|v| v.and_then(decode_value))
            .collect(),
    }
}

/// Decodes a `<methodCall>` or `<methodResponse>`.
pub fn decode(xml: &str) -> Result<Decoded, String> {
    let root = parse_tree(xml)?;
    match root.name.as_str() {
        "methodCall" => {
            let name = child(&root, "methodName").ok_or("methodCall without methodName")?;
            Ok(Decoded::Call(name.text.trim().to_string(), params(&root)?))
        }
        "methodResponse" => {
            if let Some(f) = child(&root, "fault") {
                let v = decode_value(child(f, "value").ok_or("fault without value")?)?;
                return Ok(Decoded::Fault {
                    code: v["faultCode"].as_i64().unwrap_or(0),
                    message: v["faultString"].as_str().unwrap_or_default().to_string(),
                });
            }
            let mut p = params(&root)?;
            if p.len() != 1 {
                return Err(format!("expected one value, found {}", p.len()));
            }
            Ok(Decoded::Response(p.remove(0)))
        }
        other => Err(format!("unexpected root element <{other}>")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_calls_responses_and_faults() {
        let args = vec![
            json!("db"),
            json!(2),
            json!("p<&>w"),
            json!("sale.order"),
            json!("create"),
            json!([{"partner_id": 7, "order_line": [[0, 0, {"price_unit": 4.2, "x": null, "b": true}]]}]),
            json!({"context": {"lang": "fr_FR"}, "big": 5_000_000_000i64}),
        ];
        let xml = encode_call("execute_kw", &args);
        assert!(xml.contains("<string>p&lt;&amp;&gt;w</string>"), "{xml}");
        assert!(xml.contains("<double>4.2</double>"), "{xml}");
        assert_eq!(
            decode(&xml).unwrap(),
            Decoded::Call("execute_kw".into(), args)
        );
        let v = json!([{"id": 3, "name": "S00003", "state": "sale", "partner_id": [7, "ACME"]}]);
        assert_eq!(decode(&encode_response(&v)).unwrap(), Decoded::Response(v));
        assert_eq!(
            decode(&encode_fault(2, "Oops <b>")).unwrap(),
            Decoded::Fault {
                code: 2,
                message: "Oops <b>".into()
            }
        );
    }

    #[test]
    fn decodes_untyped_strings_and_rejects_garbage() {
        let xml = "<methodResponse><params><param><value>abc &#233;</value></param></params></methodResponse>";
        assert_eq!(decode(xml).unwrap(), Decoded::Response(json!("abc é")));
        assert!(decode("<methodResponse><params>").is_err());
        assert!(decode("<!DOCTYPE x><x/>").is_err());
        assert!(decode("<methodResponse><params><param><value><int>x</int></value></param></params></methodResponse>").is_err());
    }
}
