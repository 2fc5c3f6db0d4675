/// The OpenAPI 3.1 description of every route (`openapi.json` beside this file, compiled into
/// the binary by SwiftPM's `embedInCode`), served at `GET /api/openapi.json`.
///
/// `OpenAPIDocumentTests` keeps it and the route table in step; CI validates it with
/// `openapi-spec-validator` and fuzzes the live server against it with Schemathesis
/// (`scripts/test-api-fuzz`).
enum OpenAPIDocument {
    /// The document's JSON bytes.
    static let bytes: [UInt8] = PackageResources.openapi_json
}
