// tests/deployments/openapi_test.cc: the OpenAPI document
// (plugins/deployments/openapi.h) parses as JSON, describes every route the
// plugin serves with the methods, parameters, responses and security the
// brief asks for, and every $ref in it resolves. (The structural lint is
// `npx @redocly/cli lint plugins/deployments/openapi.json`.)
#include "plugins/deployments/openapi.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/deployments/json_test_util.h"

namespace ringshard::deployments {
namespace RS_UNITY_ID {

using simdjson::dom::element;
using simdjson::dom::object;

class OpenApi : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(testing::parse_json(parser_, openapi_json()).get(root_), simdjson::SUCCESS);
  }

  element at(std::string_view pointer) {
    element e;
    EXPECT_EQ(root_.at_pointer(pointer).get(e), simdjson::SUCCESS) << pointer;
    return e;
  }
  bool has(std::string_view pointer) {
    element e;
    return root_.at_pointer(pointer).get(e) == simdjson::SUCCESS;
  }
  std::string str(std::string_view pointer) {
    std::string_view s;
    if (root_.at_pointer(pointer).get_string().get(s)) return "<missing>";
    return std::string(s);
  }
  // The parameter names of an operation (refs resolved).
  std::set<std::string> parameters(std::string_view op_pointer) {
    std::set<std::string> names;
    simdjson::dom::array params;
    if (root_.at_pointer(std::string(op_pointer) + "/parameters").get_array().get(params)) {
      return names;
    }
    for (element p : params) {
      std::string_view ref;
      if (p["$ref"].get_string().get(ref) == simdjson::SUCCESS) {
        p = at(ref.substr(1));
      }
      std::string_view name;
      if (p["name"].get_string().get(name) == simdjson::SUCCESS) names.emplace(name);
    }
    return names;
  }

  simdjson::dom::parser parser_;
  element root_;
};

// "/v1/deployments/{id}" as a JSON pointer segment.
std::string path_pointer(std::string_view path) {
  std::string out = "/paths/";
  for (char c : path) out += c == '/' ? std::string("~1") : std::string(1, c);
  return out;
}

struct Route {
  std::string_view path, method;
  std::vector<std::string_view> responses;
};

const std::vector<Route>& routes() {
  static const std::vector<Route> r = {
      {"/v1/deployments", "post", {"201", "400", "401", "403", "409", "413", "415", "422", "429"}},
      {"/v1/deployments", "get", {"200", "400"}},
      {"/v1/deployments/{id}", "get", {"200", "404"}},
      {"/v1/deployments/{id}", "delete", {"202", "404"}},
      {"/v1/deployments/{id}/wait", "get", {"200", "408", "409", "404"}},
      {"/v1/batch", "post", {"200", "400"}},
      {"/v1/stream", "get", {"101"}},
      {"/v1/openapi.json", "get", {"200"}},
      {"/v1/console", "get", {"200"}},
      {"/v1/status", "get", {"200"}},  // deprecated for /health; the glue still serves it
      {"/health", "get", {"200"}},
      {"/ready", "get", {"200", "503"}},
  };
  return r;
}

TEST_F(OpenApi, Version31WithInfoLicenseAndServers) {
  EXPECT_EQ(str("/openapi"), "3.1.0");
  EXPECT_FALSE(str("/info/title").empty());
  EXPECT_EQ(str("/info/version"), "2026-12-01");
  EXPECT_NE(str("/info/license/name"), "<missing>");
  EXPECT_NE(str("/servers/0/url"), "<missing>");
}

TEST_F(OpenApi, EveryRouteAndNoOther) {
  std::set<std::string> expected;
  for (const Route& r : routes()) expected.emplace(r.path);
  object paths;
  ASSERT_EQ(root_["paths"].get_object().get(paths), simdjson::SUCCESS);
  std::set<std::string> found;
  for (auto [key, value] : paths) found.emplace(key);
  EXPECT_EQ(found, expected);
}

TEST_F(OpenApi, OperationsHaveIdsTagsSummariesAndResponses) {
  std::set<std::string> ids;
  for (const Route& r : routes()) {
    SCOPED_TRACE(std::string(r.method) + " " + std::string(r.path));
    const std::string op = path_pointer(r.path) + "/" + std::string(r.method);
    ASSERT_TRUE(has(op));
    const std::string id = str(op + "/operationId");
    EXPECT_NE(id, "<missing>");
    EXPECT_TRUE(ids.insert(id).second) << "duplicate operationId " << id;
    EXPECT_NE(str(op + "/tags/0"), "<missing>");
    EXPECT_NE(str(op + "/summary"), "<missing>");
    for (std::string_view code : r.responses) {
      EXPECT_TRUE(has(op + "/responses/" + std::string(code))) << code;
    }
    EXPECT_TRUE(has(op + "/responses/4XX"));
  }
}

TEST_F(OpenApi, Headers) {
  for (const Route& r : routes()) {
    SCOPED_TRACE(std::string(r.method) + " " + std::string(r.path));
    const std::string op = path_pointer(r.path) + "/" + std::string(r.method);
    const std::set<std::string> params = parameters(op);
    EXPECT_EQ(params.count("API-Version"), r.path.starts_with("/v1/") ? 1u : 0u);
    const bool idempotent = r.method == "post" || r.method == "delete";
    EXPECT_EQ(params.count("Idempotency-Key"), idempotent ? 1u : 0u);
  }
  EXPECT_TRUE(has("/components/responses/TooManyRequests/headers/Retry-After"));
  for (std::string_view h : {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset",
                             "RateLimit-Policy", "RateLimit", "X-Request-ID"}) {
    EXPECT_TRUE(has(path_pointer("/v1/deployments") + "/get/responses/200/headers/" +
                    std::string(h)))
        << h;
  }
  EXPECT_TRUE(has(path_pointer("/v1/deployments") + "/post/responses/201/headers/Location"));
}

TEST_F(OpenApi, QueryParameters) {
  EXPECT_EQ(parameters(path_pointer("/v1/deployments") + "/get"),
            (std::set<std::string>{"API-Version", "X-Request-ID", "limit", "cursor", "status"}));
  const auto wait = parameters(path_pointer("/v1/deployments/{id}/wait") + "/get");
  EXPECT_TRUE(wait.count("status") && wait.count("timeout") && wait.count("id"));
  const auto stream = parameters(path_pointer("/v1/stream") + "/get");
  EXPECT_TRUE(stream.count("deployment_id") && stream.count("since") &&
              stream.count("access_token"));
  const std::string description = str(path_pointer("/v1/stream") + "/get/description");
  EXPECT_NE(description.find("4410"), std::string::npos);
  EXPECT_NE(description.find("deployment.update"), std::string::npos);
}

TEST_F(OpenApi, Security) {
  EXPECT_EQ(str("/components/securitySchemes/bearerAuth/type"), "http");
  EXPECT_EQ(str("/components/securitySchemes/bearerAuth/scheme"), "bearer");
  const auto scopes = [&](std::string_view path, std::string_view method) {
    std::set<std::string> out;
    simdjson::dom::array reqs;
    const std::string p = path_pointer(path) + "/" + std::string(method) + "/security";
    EXPECT_EQ(root_.at_pointer(p).get_array().get(reqs), simdjson::SUCCESS) << p;
    for (element req : reqs) {
      simdjson::dom::array list;
      if (req["bearerAuth"].get_array().get(list)) continue;
      for (element s : list) out.emplace(std::string_view(s.get_string()));
      out.emplace("bearer");
    }
    return out;
  };
  EXPECT_EQ(scopes("/v1/deployments", "get"),
            (std::set<std::string>{"bearer", "deployments:read"}));
  EXPECT_EQ(scopes("/v1/deployments", "post"),
            (std::set<std::string>{"bearer", "deployments:write"}));
  EXPECT_EQ(scopes("/v1/deployments/{id}", "delete"),
            (std::set<std::string>{"bearer", "deployments:write"}));
  EXPECT_TRUE(scopes("/v1/stream", "get").count("deployments:read"));
  EXPECT_TRUE(scopes("/v1/batch", "post").count("deployments:read"));
  for (std::string_view open :
       {"/health", "/ready", "/v1/openapi.json", "/v1/console", "/v1/status"}) {
    EXPECT_TRUE(scopes(open, "get").empty()) << open;
  }
}

TEST_F(OpenApi, StatusIsDeprecated) {
  bool deprecated = false;
  ASSERT_EQ(root_.at_pointer(path_pointer("/v1/status") + "/get/deprecated").get_bool().get(
                deprecated),
            simdjson::SUCCESS);
  EXPECT_TRUE(deprecated);
  for (std::string_view h : {"Deprecation", "Sunset", "Link"}) {
    EXPECT_TRUE(has(path_pointer("/v1/status") + "/get/responses/200/headers/" + std::string(h)))
        << h;
  }
}

TEST_F(OpenApi, Components) {
  for (std::string_view s : {"Deployment", "CreateDeployment", "DeploymentList", "Error",
                             "BatchRequest", "BatchResponse", "DeploymentEvent"}) {
    EXPECT_TRUE(has("/components/schemas/" + std::string(s))) << s;
  }
  EXPECT_EQ(str("/components/schemas/DeploymentEvent/properties/type/const"),
            "deployment.update");
  EXPECT_EQ(str(path_pointer("/v1/console") + "/get/responses/200/content/text~1html/schema/type"),
            "string");
}

// Every "$ref" points at something that exists.
void collect_refs(element e, std::vector<std::string>& refs) {
  object obj;
  if (e.get_object().get(obj) == simdjson::SUCCESS) {
    for (auto [key, value] : obj) {
      std::string_view ref;
      if (key == "$ref" && value.get_string().get(ref) == simdjson::SUCCESS) {
        refs.emplace_back(ref);
      } else {
        collect_refs(value, refs);
      }
    }
    return;
  }
  simdjson::dom::array arr;
  if (e.get_array().get(arr) == simdjson::SUCCESS) {
    for (element item : arr) collect_refs(item, refs);
  }
}

TEST_F(OpenApi, EveryRefResolves) {
  std::vector<std::string> refs;
  collect_refs(root_, refs);
  EXPECT_GT(refs.size(), 20u);
  for (const std::string& ref : refs) {
    ASSERT_TRUE(ref.starts_with("#/")) << ref;
    EXPECT_TRUE(has(ref.substr(1))) << ref;
  }
}

TEST_F(OpenApi, EmbeddedTextIsTheSourceFile) {
  std::ifstream in(std::string(RINGSHARD_SOURCE_DIR) + "/plugins/deployments/openapi.json",
                   std::ios::binary);
  ASSERT_TRUE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(openapi_json(), text.str());
}

}  // namespace
}  // namespace ringshard::deployments
