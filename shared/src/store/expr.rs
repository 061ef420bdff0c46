//! Update and condition expressions, built one clause at a time with placeholders
//! named after the attributes (`#status`, `:v3`), and the one way a single-item
//! write's failed condition is recognised (`condition_failed`; a transaction's are
//! the items `DynamoStore::transact` reports).

use super::StoreError;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use std::collections::HashMap;

#[derive(Debug, Default, Clone)]
pub struct Expr {
    set: Vec<String>,
    remove: Vec<String>,
    add: Vec<String>,
    conditions: Vec<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Expr {
    /// The placeholder of an attribute name.
    pub fn name(&mut self, attr: &str) -> String {
        let p = format!(
            "#{}",
            attr.chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect::<String>()
        );
        self.names.insert(p.clone(), attr.to_string());
        p
    }

    /// The placeholder of a value.
    pub fn value(&mut self, v: AttributeValue) -> String {
        let p = format!(":v{}", self.values.len());
        self.values.insert(p.clone(), v);
        p
    }

    pub fn set(&mut self, attr: &str, v: AttributeValue) {
        let (n, v) = (self.name(attr), self.value(v));
        self.set.push(format!("{n} = {v}"));
    }

    /// Sets `attr` only where the item has none yet.
    pub fn set_if_absent(&mut self, attr: &str, v: AttributeValue) {
        let (n, v) = (self.name(attr), self.value(v));
        self.set.push(format!("{n} = if_not_exists({n}, {v})"));
    }

    /// A raw SET clause (placeholders from `name` and `value`).
    pub fn set_raw(&mut self, clause: String) {
        self.set.push(clause);
    }

    pub fn remove(&mut self, attr: &str) {
        let n = self.name(attr);
        if !self.remove.contains(&n) {
            self.remove.push(n);
        }
    }

    pub fn add(&mut self, attr: &str, v: AttributeValue) {
        let (n, v) = (self.name(attr), self.value(v));
        self.add.push(format!("{n} {v}"));
    }

    /// A condition, ANDed with the others.
    pub fn condition(&mut self, c: String) {
        self.conditions.push(c);
    }

    pub fn update_expression(&self) -> String {
        let mut parts = Vec::new();
        if !self.set.is_empty() {
            parts.push(format!("SET {}", self.set.join(", ")));
        }
        if !self.remove.is_empty() {
            parts.push(format!("REMOVE {}", self.remove.join(", ")));
        }
        if !self.add.is_empty() {
            parts.push(format!("ADD {}", self.add.join(", ")));
        }
        parts.join(" ")
    }

    pub fn condition_expression(&self) -> Option<String> {
        (!self.conditions.is_empty()).then(|| {
            self.conditions
                .iter()
                .map(|c| format!("({c})"))
                .collect::<Vec<_>>()
                .join(" AND ")
        })
    }

    pub fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    pub fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }

    /// This update of the item at `key`, as one request (the caller adds what it
    /// wants returned, and sends it).
    pub fn update_item(
        &self,
        client: &aws_sdk_dynamodb::Client,
        table: &str,
        key: HashMap<String, AttributeValue>,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        client
            .update_item()
            .table_name(table)
            .set_key(Some(key))
            .update_expression(self.update_expression())
            .set_condition_expression(self.condition_expression())
            .set_expression_attribute_names(self.names())
            .set_expression_attribute_values(self.values())
    }

    /// This update of the item at `key`, in a transaction.
    pub fn transact_update(
        &self,
        table: &str,
        key: HashMap<String, AttributeValue>,
    ) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(table)
            .set_key(Some(key))
            .update_expression(self.update_expression())
            .set_condition_expression(self.condition_expression())
            .set_expression_attribute_names(self.names())
            .set_expression_attribute_values(self.values())
            .build()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}

/// Whether DynamoDB answered with the error `code`.
fn answered<E, R>(e: &SdkError<E, R>, code: &str) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    e.as_service_error()
        .and_then(|se| se.code())
        .is_some_and(|c| c == code)
}

/// Whether a single-item write failed its condition (the one way to tell).
pub fn condition_failed<E, R>(e: &SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    answered(e, "ConditionalCheckFailedException")
}

/// Whether DynamoDB refused a request for good (`ValidationException`, e.g. an item
/// over 400 KB): the same request would be refused again.
pub fn refused<E, R>(e: &SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    answered(e, "ValidationException")
}
