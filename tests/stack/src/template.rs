//! Reads `infra/template.yaml`, so the local stack and the tests use the deployed
//! definitions (table schema, routes, stream filter) instead of a second copy.

use crate::{BoxError, workspace_root};
use serde_yaml::Value;

pub struct Template {
    root: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TableDefinition {
    pub logical_id: String,
    /// (name, S|N|B)
    pub attributes: Vec<(String, String)>,
    /// (name, HASH|RANGE)
    pub key_schema: Vec<(String, String)>,
    pub indexes: Vec<IndexDefinition>,
    pub stream_view_type: String,
    pub ttl_attribute: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IndexDefinition {
    pub name: String,
    pub key_schema: Vec<(String, String)>,
    pub projection: String,
    pub non_key_attributes: Vec<String>,
}

/// An HTTP API route and the function behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub method: String,
    pub path: String,
    pub function: String,
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key)?.as_str()
}

fn pairs(list: Option<&Value>, a: &str, b: &str) -> Vec<(String, String)> {
    list.and_then(Value::as_sequence)
        .map(|seq| {
            seq.iter()
                .filter_map(|e| Some((str_at(e, a)?.to_string(), str_at(e, b)?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

impl Template {
    pub fn load() -> Result<Self, BoxError> {
        let path = workspace_root().join("infra").join("template.yaml");
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Template {
            root: serde_yaml::from_str(&text)?,
        })
    }

    /// The whole document.
    pub fn raw(&self) -> &Value {
        &self.root
    }

    pub fn resources(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.root
            .get("Resources")
            .and_then(Value::as_mapping)
            .into_iter()
            .flat_map(|m| m.iter())
            .filter_map(|(k, v)| Some((k.as_str()?, v)))
    }

    /// `v` with its `!If`s decided by the parameters' defaults (a new stack's),
    /// for the conditions written `!Equals [!Ref Parameter, value]`.
    pub fn resolve<'a>(&'a self, v: &'a Value) -> &'a Value {
        let Value::Tagged(t) = v else {
            return v;
        };
        let (Some(args), "!If" | "If") = (t.value.as_sequence(), t.tag.to_string().as_str()) else {
            return v;
        };
        let [cond, then, otherwise] = args.as_slice() else {
            return v;
        };
        let holds = cond
            .as_str()
            .and_then(|c| self.root.get("Conditions")?.get(c))
            .and_then(|c| match c {
                Value::Tagged(eq) => {
                    let [Value::Tagged(r), value] = eq.value.as_sequence()?.as_slice() else {
                        return None;
                    };
                    let param = r.value.as_str()?;
                    let default = self.root.get("Parameters")?.get(param)?.get("Default")?;
                    let as_text = |v: &Value| match v {
                        Value::String(s) => Some(s.clone()),
                        Value::Number(n) => Some(n.to_string()),
                        _ => None,
                    };
                    Some(as_text(default)? == as_text(value)?)
                }
                _ => None,
            })
            .unwrap_or(false);
        self.resolve(if holds { then } else { otherwise })
    }

    fn of_type<'a>(&'a self, ty: &'a str) -> impl Iterator<Item = (&'a str, &'a Value)> + 'a {
        self.resources()
            .filter(move |(_, r)| str_at(r, "Type") == Some(ty))
    }

    /// The conversation table (the template's one DynamoDB table).
    pub fn table(&self) -> Result<TableDefinition, BoxError> {
        let (id, res) = self
            .of_type("AWS::DynamoDB::Table")
            .next()
            .ok_or("template has no AWS::DynamoDB::Table")?;
        let p = res.get("Properties").ok_or("table without Properties")?;
        let indexes = p
            .get("GlobalSecondaryIndexes")
            .map(|v| self.resolve(v))
            .and_then(Value::as_sequence)
            .map(|seq| {
                seq.iter()
                    .filter_map(|g| {
                        Some(IndexDefinition {
                            name: str_at(g, "IndexName")?.to_string(),
                            key_schema: pairs(g.get("KeySchema"), "AttributeName", "KeyType"),
                            projection: str_at(g.get("Projection")?, "ProjectionType")?.to_string(),
                            non_key_attributes: g
                                .get("Projection")?
                                .get("NonKeyAttributes")
                                .and_then(Value::as_sequence)
                                .map(|a| {
                                    a.iter()
                                        .filter_map(|v| v.as_str().map(str::to_string))
                                        .collect()
                                })
                                .unwrap_or_default(),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        let ttl = p.get("TimeToLiveSpecification");
        Ok(TableDefinition {
            logical_id: id.to_string(),
            attributes: pairs(
                p.get("AttributeDefinitions").map(|v| self.resolve(v)),
                "AttributeName",
                "AttributeType",
            ),
            key_schema: pairs(p.get("KeySchema"), "AttributeName", "KeyType"),
            indexes,
            stream_view_type: p
                .get("StreamSpecification")
                .and_then(|s| str_at(s, "StreamViewType"))
                .ok_or("table without a stream")?
                .to_string(),
            ttl_attribute: ttl
                .filter(|t| t.get("Enabled").and_then(Value::as_bool) == Some(true))
                .and_then(|t| str_at(t, "AttributeName"))
                .map(str::to_string),
        })
    }

    fn events<'a>(
        &'a self,
        event_type: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a Value)> + 'a {
        self.of_type("AWS::Serverless::Function")
            .flat_map(move |(id, f)| {
                f.get("Properties")
                    .and_then(|p| p.get("Events"))
                    .and_then(Value::as_mapping)
                    .into_iter()
                    .flat_map(|m| m.values())
                    .filter(move |e| str_at(e, "Type") == Some(event_type))
                    .filter_map(move |e| Some((id, e.get("Properties")?)))
            })
    }

    /// Every HttpApi route of every function.
    pub fn http_routes(&self) -> Vec<Route> {
        self.events("HttpApi")
            .filter_map(|(id, p)| {
                Some(Route {
                    method: str_at(p, "Method")?.to_uppercase(),
                    path: str_at(p, "Path")?.to_string(),
                    function: id.to_string(),
                })
            })
            .collect()
    }

    /// The auto-reply's stream event source: (function, filter patterns).
    pub fn stream_consumer(&self) -> Result<(String, Vec<serde_json::Value>), BoxError> {
        self.stream_consumer_of("OffHoursAutoReplyFunction")
    }

    /// The stream event source of `function`: (function, filter patterns).
    pub fn stream_consumer_of(
        &self,
        function: &str,
    ) -> Result<(String, Vec<serde_json::Value>), BoxError> {
        self.stream_consumers()?
            .into_iter()
            .find(|(f, _)| f == function)
            .ok_or_else(|| format!("no stream event source mapping for {function}").into())
    }

    /// Every stream event source mapping of the table: (function, filter patterns).
    pub fn stream_consumers(&self) -> Result<Vec<(String, Vec<serde_json::Value>)>, BoxError> {
        let all = self
            .of_type("AWS::Lambda::EventSourceMapping")
            .filter(|(_, m)| {
                // The table's stream, not a queue's mapping.
                serde_yaml::to_string(m).is_ok_and(|t| t.contains("StreamArn"))
            })
            .map(|(_, m)| Self::consumer(m))
            .collect::<Result<Vec<_>, _>>()?;
        if all.is_empty() {
            return Err("no stream event source mapping in the template".into());
        }
        Ok(all)
    }

    fn consumer(mapping: &Value) -> Result<(String, Vec<serde_json::Value>), BoxError> {
        let p = mapping
            .get("Properties")
            .ok_or("the event source mapping has no properties")?;
        // `FunctionName: !Ref <function>`.
        let function = match p.get("FunctionName") {
            Some(Value::Tagged(t)) => t.value.as_str().map(str::to_string),
            Some(v) => v.as_str().map(str::to_string),
            None => None,
        }
        .ok_or("the event source mapping names no function")?;
        let patterns = p
            .get("FilterCriteria")
            .and_then(|f| f.get("Filters"))
            .and_then(Value::as_sequence)
            .map(|seq| {
                seq.iter()
                    .filter_map(|f| str_at(f, "Pattern"))
                    .map(serde_json::from_str)
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?
            .unwrap_or_default();
        Ok((function, patterns))
    }

    /// The DynamoDB actions a function's inline policy statements allow.
    pub fn dynamodb_actions(&self, function: &str) -> Vec<String> {
        let Some((_, f)) = self.resources().find(|(id, _)| *id == function) else {
            return Vec::new();
        };
        let policies = f
            .get("Properties")
            .and_then(|p| p.get("Policies"))
            .and_then(Value::as_sequence);
        policies
            .into_iter()
            .flatten()
            .filter_map(|p| p.get("Statement")?.as_sequence())
            .flatten()
            .filter(|s| str_at(s, "Effect") == Some("Allow"))
            .filter_map(|s| s.get("Action"))
            .flat_map(|a| match a {
                Value::Sequence(seq) => seq.iter().filter_map(Value::as_str).collect(),
                other => other.as_str().into_iter().collect::<Vec<_>>(),
            })
            .filter(|a| a.starts_with("dynamodb:"))
            .map(str::to_string)
            .collect()
    }

    /// The environment variable names a function is given.
    pub fn function_env(&self, function: &str) -> Vec<String> {
        let names = |v: Option<&Value>| -> Vec<String> {
            v.and_then(|e| e.get("Variables"))
                .and_then(Value::as_mapping)
                .map(|m| {
                    m.keys()
                        .filter_map(|k| k.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut all = names(
            self.root
                .get("Globals")
                .and_then(|g| g.get("Function"))
                .and_then(|f| f.get("Environment")),
        );
        if let Some((_, f)) = self.resources().find(|(id, _)| *id == function) {
            all.extend(names(
                f.get("Properties").and_then(|p| p.get("Environment")),
            ));
        }
        all
    }
}
