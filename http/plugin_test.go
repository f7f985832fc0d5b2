package http_test

import (
	"strings"
	"testing"
)

// exercisePluginKeys drives the plugin-key routes for
// TestOpenAPI_ResponsesMatch: create, bad input, list, revoke, revoke
// again.
func exercisePluginKeys(t *testing.T, call func(method, tpl, path, body string, headers ...string) *response) {
	t.Helper()
	r := call("POST", "/v1/plugin-keys", "/v1/plugin-keys", `{"plugin_name":"Your Plugin Name"}`)
	r.expect(t, 201, "")
	var k struct {
		ID         string `json:"id"`
		PluginName string `json:"plugin_name"`
		PluginKey  string `json:"plugin_key"`
	}
	r.data(t, &k)
	if !strings.HasPrefix(k.PluginKey, k.ID+".") || k.PluginName != "Your Plugin Name" {
		t.Fatalf("created %+v", k)
	}
	call("POST", "/v1/plugin-keys", "/v1/plugin-keys", `{"plugin_name":""}`).expect(t, 400, "invalid_request")
	call("POST", "/v1/plugin-keys", "/v1/plugin-keys", `{"plugin_name":"x","scope":"admin"}`).expect(t, 400, "invalid_json")
	call("POST", "/v1/plugin-keys", "/v1/plugin-keys", `{"plugin_name":12}`).expect(t, 400, "invalid_json")
	call("POST", "/v1/plugin-keys", "/v1/plugin-keys", `{"plugin_name":"`+strings.Repeat("a", 101)+`"}`).expect(t, 400, "invalid_request")
	call("POST", "/v1/plugin-keys", "/v1/plugin-keys", `{"plugin_name":"x"}`, "Authorization", "").expect(t, 401, "unauthorized")
	l := call("GET", "/v1/plugin-keys", "/v1/plugin-keys", "")
	l.expect(t, 200, "")
	if strings.Contains(string(l.Raw), k.PluginKey) || !strings.Contains(string(l.Raw), k.ID) {
		t.Fatalf("list %s", l.Raw)
	}
	call("DELETE", "/v1/plugin-keys/{id}", "/v1/plugin-keys/"+k.ID, "").expect(t, 200, "")
	call("DELETE", "/v1/plugin-keys/{id}", "/v1/plugin-keys/"+k.ID, "").expect(t, 404, "not_found")
	call("DELETE", "/v1/plugin-keys/{id}", "/v1/plugin-keys/wpk_nope", "").expect(t, 404, "not_found")
}
