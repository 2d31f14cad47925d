//! The messages of Envoy's `envoy.service.auth.v3.Authorization/Check`, as prost structs.
//!
//! Written by hand from Envoy's published API (`envoy/service/auth/v3/external_auth.proto`,
//! `attribute_context.proto`, `envoy/config/core/v3/base.proto`, `envoy/type/v3/http_status.proto`,
//! `google/rpc/status.proto`; Apache-2.0), keeping only the fields doorman reads or writes,
//! with the same field numbers and types: protobuf skips the fields a reader does not know,
//! so Envoy's full messages decode into these, and these encode into what Envoy reads. No
//! `protoc` or build script is needed.

use std::collections::HashMap;

/// `CheckRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CheckRequest {
    #[prost(message, optional, tag = "1")]
    pub attributes: Option<AttributeContext>,
}

/// `AttributeContext` (source, destination and request only).
#[derive(Clone, PartialEq, prost::Message)]
pub struct AttributeContext {
    #[prost(message, optional, tag = "4")]
    pub request: Option<AttributeRequest>,
}

/// `AttributeContext.Request` (the HTTP part only).
#[derive(Clone, PartialEq, prost::Message)]
pub struct AttributeRequest {
    #[prost(message, optional, tag = "2")]
    pub http: Option<HttpRequest>,
}

/// `AttributeContext.HttpRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct HttpRequest {
    #[prost(string, tag = "1")]
    pub id: String,
    #[prost(string, tag = "2")]
    pub method: String,
    /// Lower-case names; repeated headers merged with `,` by Envoy.
    #[prost(map = "string, string", tag = "3")]
    pub headers: HashMap<String, String>,
    /// The request target: path and query, not decoded.
    #[prost(string, tag = "4")]
    pub path: String,
    /// `Host` or `:authority`.
    #[prost(string, tag = "5")]
    pub host: String,
    #[prost(string, tag = "6")]
    pub scheme: String,
    /// With `encode_raw_headers`: the headers unmerged, values in `raw_value`.
    #[prost(message, optional, tag = "13")]
    pub header_map: Option<HeaderMap>,
}

/// `config.core.v3.HeaderMap`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct HeaderMap {
    #[prost(message, repeated, tag = "1")]
    pub headers: Vec<HeaderValue>,
}

/// `config.core.v3.HeaderValue`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct HeaderValue {
    #[prost(string, tag = "1")]
    pub key: String,
    #[prost(string, tag = "2")]
    pub value: String,
    #[prost(bytes = "vec", tag = "3")]
    pub raw_value: Vec<u8>,
}

/// `config.core.v3.HeaderValueOption`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct HeaderValueOption {
    #[prost(message, optional, tag = "1")]
    pub header: Option<HeaderValue>,
    /// `HeaderAppendAction`: see [`APPEND`] and [`OVERWRITE`].
    #[prost(int32, tag = "3")]
    pub append_action: i32,
}

/// `APPEND_IF_EXISTS_OR_ADD`: several values of one header (`Set-Cookie`).
pub const APPEND: i32 = 0;
/// `OVERWRITE_IF_EXISTS_OR_ADD`: an identity header replaces any client copy.
pub const OVERWRITE: i32 = 2;

/// `CheckResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CheckResponse {
    #[prost(message, optional, tag = "1")]
    pub status: Option<RpcStatus>,
    #[prost(oneof = "HttpResponse", tags = "2, 3")]
    pub http_response: Option<HttpResponse>,
}

/// `CheckResponse.http_response`.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum HttpResponse {
    #[prost(message, tag = "2")]
    Denied(DeniedHttpResponse),
    #[prost(message, tag = "3")]
    Ok(OkHttpResponse),
}

/// `google.rpc.Status`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RpcStatus {
    #[prost(int32, tag = "1")]
    pub code: i32,
    #[prost(string, tag = "2")]
    pub message: String,
}

/// `DeniedHttpResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct DeniedHttpResponse {
    #[prost(message, optional, tag = "1")]
    pub status: Option<HttpStatus>,
    #[prost(message, repeated, tag = "2")]
    pub headers: Vec<HeaderValueOption>,
    #[prost(string, tag = "3")]
    pub body: String,
}

/// `type.v3.HttpStatus`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct HttpStatus {
    #[prost(int32, tag = "1")]
    pub code: i32,
}

/// `OkHttpResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct OkHttpResponse {
    #[prost(message, repeated, tag = "2")]
    pub headers: Vec<HeaderValueOption>,
    #[prost(string, repeated, tag = "5")]
    pub headers_to_remove: Vec<String>,
    /// Headers for the client's response (`Set-Cookie` of a handshake exchange).
    #[prost(message, repeated, tag = "6")]
    pub response_headers_to_add: Vec<HeaderValueOption>,
}

/// gRPC status codes doorman answers with.
pub mod code {
    pub const OK: i32 = 0;
    pub const PERMISSION_DENIED: i32 = 7;
    pub const UNAUTHENTICATED: i32 = 16;
}
