"""Ficus's shared vocabulary: what every other package means by a phase, a route, a plan, an
owner, an identity and a record. Pure: it imports no framework and no other Ficus package, and
every other package may import it (import-linter holds both).

- `phases`: the phases of a route and the one ownership rule (`service_owns_writes`);
- `transitions`: which phase changes are allowed;
- `route_templates`, `routes`, `routing`: route templates, routes and decisions, the route
  table and `decide()`;
- `rpc`, `rpc_index`, `plan_rpc`: the RPC method a request's body calls (JSON-RPC, XML-RPC,
  SOAP), the RPC routes of one path, and a plan route's `rpc:` match;
- `plan_yaml`, `plan_model`, `plan_sections`, `plan_reader`, `plans`, `route_table`: the plan
  files, parsed with located errors, and the route table they compile to;
- `ownership`: each feature's write ownership, from its plan and its routes' states;
- `identity`: the signed identity token the proxy gives the services;
- `answers`: the faces (legacy, /v2, FHIR, control) and each face's refusal shape;
- `latency`: the fixed-bucket latency histogram the proxy counts and the gates read;
- `records`: the generic record codecs each feature's mapping is built from;
- `redaction`: what a log line may say of a failure (never the SQL and its values);
- `safe_harbor`, `deidentify`: evidence samples with the Safe Harbor identifiers replaced by
  keyed surrogates (docs/evidence.md).
"""
