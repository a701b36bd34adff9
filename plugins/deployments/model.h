// plugins/deployments/model.h: the deployment API's model, in one include:
// everything between the wire and the store that is pure (no I/O, no
// clock, no globals): request validation, JSON responses, cursors, ids,
// the OpenAPI document and the console page. The plugin glue (plugin_*.cc)
// includes this; unit tests and fuzz targets include the parts.
//
//   model_error.h    ApiError and the standard error body
//   model_json.h     BodyParser: the bounded JSON tree the validators read
//   model_create.h   POST /v1/deployments body
//   model_batch.h    POST /v1/batch body and answer
//   model_query.h    GET query strings (list, wait, stream), percent-decoding
//   model_version.h  API-Version header
//   model_id.h       deployment ids
//   model_render.h   deployment, list and event JSON; RFC 3339
//   json_writer.h    the escaping writer responses are built with
//   cursor.h         list cursors
//   openapi.h        GET /v1/openapi.json
//   console.h        GET /v1/console
//
// Threads: every function may be called from any thread; a BodyParser is
// not shared between threads (one per shard).
#pragma once

#include "plugins/deployments/console.h"
#include "plugins/deployments/cursor.h"
#include "plugins/deployments/deployment.h"
#include "plugins/deployments/json_writer.h"
#include "plugins/deployments/model_batch.h"
#include "plugins/deployments/model_create.h"
#include "plugins/deployments/model_error.h"
#include "plugins/deployments/model_id.h"
#include "plugins/deployments/model_json.h"
#include "plugins/deployments/model_query.h"
#include "plugins/deployments/model_render.h"
#include "plugins/deployments/model_version.h"
#include "plugins/deployments/openapi.h"
