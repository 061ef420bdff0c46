//! SDK configuration for a local DynamoDB-API endpoint (dummy credentials, a fixed
//! region), and table creation from the SAM template.

use crate::BoxError;
use crate::template::TableDefinition;
use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification,
};
use std::time::Duration;

/// SDK config pointing at `endpoint`, with the standard env vars taking precedence
/// for region and credentials when set.
pub async fn local_config(endpoint: &str) -> aws_config::SdkConfig {
    let region = std::env::var("AWS_REGION")
        .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
        .unwrap_or_else(|_| "us-east-1".into());
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(asyncdesk::sdk::http_client())
        .endpoint_url(endpoint)
        .region(Region::new(region));
    if std::env::var("AWS_ACCESS_KEY_ID").is_err() {
        loader = loader.credentials_provider(Credentials::new(
            "local",
            "local",
            None,
            None,
            "asyncdesk-local",
        ));
    }
    loader.load().await
}

/// Creates `name` with the keys, index, stream and TTL of the template's table and
/// waits until it is active. An existing table of that name is left as it is.
pub async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    name: &str,
    def: &TableDefinition,
) -> Result<bool, BoxError> {
    if client
        .describe_table()
        .table_name(name)
        .send()
        .await
        .is_ok()
    {
        return Ok(false);
    }
    let key = |(attr, kind): &(String, String)| {
        KeySchemaElement::builder()
            .attribute_name(attr)
            .key_type(KeyType::from(kind.as_str()))
            .build()
            .expect("complete key element")
    };
    let mut req = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(def.key_schema.iter().map(key).collect()))
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(def.stream_view_type.as_str()))
                .build()
                .expect("complete stream spec"),
        );
    for (attr, ty) in &def.attributes {
        req = req.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(attr)
                .attribute_type(ScalarAttributeType::from(ty.as_str()))
                .build()?,
        );
    }
    for gsi in &def.indexes {
        req = req.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(&gsi.name)
                .set_key_schema(Some(gsi.key_schema.iter().map(key).collect()))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(gsi.projection.as_str()))
                        .set_non_key_attributes(
                            (!gsi.non_key_attributes.is_empty())
                                .then(|| gsi.non_key_attributes.clone()),
                        )
                        .build(),
                )
                .build()?,
        );
    }
    req.send().await.map_err(|e| {
        format!(
            "CreateTable {name}: {}",
            aws_sdk_dynamodb::error::DisplayErrorContext(e)
        )
    })?;
    for _ in 0..100 {
        let t = client.describe_table().table_name(name).send().await?;
        if t.table().and_then(|t| t.table_status()).map(|s| s.as_str()) == Some("ACTIVE") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if let Some(ttl) = &def.ttl_attribute {
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(ttl)
                    .enabled(true)
                    .build()?,
            )
            .send()
            .await?;
    }
    Ok(true)
}
