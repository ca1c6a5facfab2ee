using System.Text;

namespace Orchestrator.IntegrationTests;

/// <summary>
/// One hostile request and the answer it must get. <see cref="Type"/> is the problem type after
/// <c>https://orchestrator.dev/problems/</c>; null only where Kestrel answers before the application runs.
/// </summary>
internal sealed record HostileCase(string Name, string Caller, string Method, string Path, int Status, string? Type, string? Field = null)
{
    public Func<byte[]>? Body { get; init; }

    public string? ContentType { get; init; }

    public IReadOnlyList<(string Name, string Value)> Headers { get; init; } = [];

    /// <summary>The pending feature this case needs (it fails until that feature is merged); null when it needs none.</summary>
    public string? DependsOn { get; init; }
}

/// <summary>The hostile-input cases, by name.</summary>
internal static class HostileCases
{
    public const string BodyLimits = "per-endpoint request body size limits";
    public const string RequestIds = "request-id middleware";

    private const string Json = "application/json";
    private const string Yaml = "application/yaml";
    private const string Run404 = "run-00000000000000000000";
    private const string ValidInstance = """{"name":"hostile-box","region":"ams","size":"shared-cpu-1x"}""";
    private const string Waiting = "name: hostile-flow\nsteps:\n  - id: wait\n    uses: wait_for_signal\n    with: { name: go }\n";

    /// <summary>Tenant ids the cases try to create; the closing check makes sure none exists.</summary>
    public static readonly string[] TenantIdsTried = ["hostile-q", "hostile-x", "hostile-rtl", "hostile-sneak", "hostile-big", "no-such-tenant"];

    public static IReadOnlyDictionary<string, HostileCase> All { get; } = Build().ToDictionary(c => c.Name, StringComparer.Ordinal);

    private static IEnumerable<HostileCase> Build()
    {
        // POST /api/instances: malformed, mistyped and unknown fields, Unicode tricks, shell metacharacters.
        const string create = "/api/instances";
        yield return Invalid("instance-empty-body", "tenant", "POST", create, "", "body");
        yield return Invalid("instance-truncated-json", "tenant", "POST", create, "{\"name\":\"box\",\"region\":\"", "body");
        yield return Invalid("instance-array-body", "tenant", "POST", create, "[1,2]", "body");
        yield return Invalid("instance-string-body", "tenant", "POST", create, "\"box\"", "body");
        yield return Invalid("instance-unknown-field", "tenant", "POST", create, """{"name":"box","region":"ams","size":"shared-cpu-1x","privileged":true}""", "privileged");
        yield return Invalid("instance-name-number", "tenant", "POST", create, """{"name":42,"region":"ams","size":"shared-cpu-1x"}""", "name");
        yield return Invalid("instance-size-number", "tenant", "POST", create, """{"name":"box","region":"ams","size":42}""", "size");
        yield return Invalid("instance-cpus-string", "tenant", "POST", create, """{"name":"box","region":"ams","size":{"cpus":"1","memory_mb":256}}""", "size.cpus");
        yield return Invalid("instance-memory-overflow", "tenant", "POST", create, """{"name":"box","region":"ams","size":{"cpus":1,"memory_mb":99999999999}}""", "size.memory_mb");
        yield return Invalid("instance-env-key-metacharacters", "tenant", "POST", create, """{"name":"box","region":"ams","size":"shared-cpu-1x","env":{"A;rm -rf /":"x"}}""", "env.A;rm -rf /");
        yield return Invalid("instance-env-value-number", "tenant", "POST", create, """{"name":"box","region":"ams","size":"shared-cpu-1x","env":{"X":1}}""", "env.X");
        yield return Invalid("instance-env-array", "tenant", "POST", create, """{"name":"box","region":"ams","size":"shared-cpu-1x","env":[]}""", "env");
        yield return Invalid("instance-public-ip-string", "tenant", "POST", create, """{"name":"box","region":"ams","size":"shared-cpu-1x","public_ip":"yes"}""", "public_ip");
        yield return Invalid("instance-volume-traversal", "tenant", "POST", create, """{"name":"box","region":"ams","size":"shared-cpu-1x","volume":{"size_gb":1,"path":"/data/../../etc"}}""", "volume.path");
        yield return Invalid("instance-volume-string", "tenant", "POST", create, """{"name":"box","region":"ams","size":"shared-cpu-1x","volume":"big"}""", "volume");
        yield return Invalid("instance-image-shell", "tenant", "POST", create, """{"name":"box","region":"ams","size":"shared-cpu-1x","image":"alpine; rm -rf /"}""", "image");
        yield return Invalid("instance-region-injection", "tenant", "POST", create, """{"name":"box","region":"ams' OR '1'='1","size":"shared-cpu-1x"}""", "region");
        yield return Invalid("instance-name-rtl-override", "tenant", "POST", create, """{"name":"box\u202Egpj","region":"ams","size":"shared-cpu-1x"}""", "name");
        yield return Invalid("instance-name-zero-width-joiner", "tenant", "POST", create, """{"name":"bo\u200Dx","region":"ams","size":"shared-cpu-1x"}""", "name");
        yield return Invalid("instance-name-homoglyph", "tenant", "POST", create, """{"name":"b\u043Ex","region":"ams","size":"shared-cpu-1x"}""", "name");
        yield return Invalid("instance-name-nul", "tenant", "POST", create, """{"name":"box\u0000","region":"ams","size":"shared-cpu-1x"}""", "name");
        yield return Invalid("instance-name-lone-surrogate", "tenant", "POST", create, """{"name":"box\uD800","region":"ams","size":"shared-cpu-1x"}""", "name");
        yield return Invalid("instance-name-overlong", "tenant", "POST", create, $$"""{"name":"{{new string('a', 64)}}","region":"ams","size":"shared-cpu-1x"}""", "name");
        yield return Invalid("instance-name-command-substitution", "tenant", "POST", create, """{"name":"$(reboot)","region":"ams","size":"shared-cpu-1x"}""", "name");
        yield return InvalidBytes("instance-overlong-utf8", "tenant", "POST", create, OverlongUtf8("{\"name\":\"box", "\",\"region\":\"ams\",\"size\":\"shared-cpu-1x\"}"), "name");
        yield return Invalid("instance-nested-arrays-10000", "tenant", "POST", create, Nested(10_000), "body");
        yield return Invalid("instance-nested-objects-10000", "tenant", "POST", create, NestedObjects(10_000), "body");
        yield return Invalid("instance-wait-unknown", "tenant", "POST", create + "?wait=forever", ValidInstance, "wait");
        yield return Invalid("instance-xml-body", "tenant", "POST", create, """<instance name="box"/>""", "body", "application/xml");
        yield return Invalid("instance-form-body", "tenant", "POST", create, "name=box&region=ams&size=shared-cpu-1x", "body", "application/x-www-form-urlencoded");
        yield return TooLarge("instance-huge-body", "tenant", "POST", create, 2 * 1024 * 1024, BodyLimits);

        // Instance ids in paths.
        foreach (var (name, id) in new[]
        {
            ("uppercase", "Baseline"), ("64-chars", new string('a', 64)), ("1000-chars", new string('a', 1000)), ("semicolon", "box%3Breboot"),
            ("space", "box%20x"), ("rtl-override", "box%E2%80%AEgpj"), ("zero-width-joiner", "bo%E2%80%8Dx"), ("homoglyph", "b%D0%BEx"),
            ("overlong-utf8", "%C0%AE%C0%AE"), ("lone-surrogate", "box%ED%A0%80"), ("encoded-traversal", "..%2F..%2Fetc"),
        })
        {
            yield return Invalid($"instance-get-id-{name}", "tenant", "GET", $"/api/instances/{id}", null, "id");
        }

        yield return Invalid("instance-start-leading-dash", "tenant", "POST", "/api/instances/-box/start", null, "id");
        yield return Invalid("instance-stop-trailing-dash", "tenant", "POST", "/api/instances/box-/stop", null, "id");
        yield return Invalid("instance-restart-underscore", "tenant", "POST", "/api/instances/my_box/restart", null, "id");
        yield return Invalid("instance-delete-backticks", "tenant", "DELETE", "/api/instances/%60reboot%60", null, "id");
        yield return Invalid("instance-delete-keep-volume-maybe", "tenant", "DELETE", "/api/instances/baseline?keep_volume=maybe", null, "keep_volume");
        yield return Invalid("instance-exec-id-uppercase", "tenant", "POST", "/api/instances/BOX/exec", """{"command":"id"}""", "id");
        yield return Invalid("instance-shell-id-semicolon", "tenant", "GET", "/api/instances/box%3B/shell", null, "id");
        yield return Invalid("instance-shell-cols-abc", "tenant", "GET", "/api/instances/baseline/shell?cols=abc", null, "cols");
        yield return Invalid("instance-shell-cols-zero", "tenant", "GET", "/api/instances/baseline/shell?cols=0", null, "cols");
        yield return Invalid("instance-shell-rows-abc", "tenant", "GET", "/api/instances/baseline/shell?rows=abc", null, "rows");
        yield return Invalid("instance-shell-rows-huge", "tenant", "GET", "/api/instances/baseline/shell?rows=99999", null, "rows");
        yield return new("instance-shell-without-websocket", "tenant", "GET", "/api/instances/baseline/shell", 400, "websocket-required");

        // Instance lists: query parameters of the wrong type.
        foreach (var (name, query, field) in new[]
        {
            ("limit-negative", "limit=-1", "limit"), ("limit-abc", "limit=abc", "limit"), ("limit-101", "limit=101", "limit"), ("limit-fraction", "limit=1.5", "limit"),
            ("cursor-garbage", "cursor=garbage%20cursor%21", "cursor"), ("cursor-nul", "cursor=%00", "cursor"), ("state-uppercase", "state=STARTED", "state"), ("region-mars", "region=mars", "region"),
        })
        {
            yield return Invalid($"instance-list-{name}", "tenant", "GET", $"/api/instances?{query}", null, field);
            if (field is "limit" or "cursor")
            {
                // The tenant list reads limit and cursor by the same rules.
                yield return Invalid($"tenant-list-{name}", "admin", "GET", $"/api/tenants?{query}", null, field);
            }
        }

        // POST /api/instances/{id}/exec bodies (validated before any grain is called).
        const string exec = "/api/instances/baseline/exec";
        yield return Invalid("exec-empty-body", "tenant", "POST", exec, "", "body");
        yield return Invalid("exec-truncated-json", "tenant", "POST", exec, "{\"command\":\"id\"", "body");
        yield return Invalid("exec-array-body", "tenant", "POST", exec, "[]", "body");
        yield return Invalid("exec-no-command", "tenant", "POST", exec, "{}", "command");
        yield return Invalid("exec-command-number", "tenant", "POST", exec, """{"command":1}""", "command");
        yield return Invalid("exec-command-blank", "tenant", "POST", exec, """{"command":"   "}""", "command");
        yield return Invalid("exec-command-nul", "tenant", "POST", exec, """{"command":"id\u0000; reboot"}""", "command");
        yield return Invalid("exec-command-lone-surrogate", "tenant", "POST", exec, """{"command":"echo \uDC00"}""", "command");
        yield return Invalid("exec-env-key-semicolon", "tenant", "POST", exec, """{"command":"id","env":{"X;reboot":"1"}}""", "env.X;reboot");
        yield return Invalid("exec-env-key-substitution", "tenant", "POST", exec, """{"command":"id","env":{"$(reboot)":"1"}}""", "env.$(reboot)");
        yield return Invalid("exec-env-key-space", "tenant", "POST", exec, """{"command":"id","env":{"A B":"1"}}""", "env.A B");
        yield return Invalid("exec-env-value-nul", "tenant", "POST", exec, """{"command":"id","env":{"A":"x\u0000y"}}""", "env.A");
        yield return Invalid("exec-env-value-number", "tenant", "POST", exec, """{"command":"id","env":{"A":1}}""", "env.A");
        yield return Invalid("exec-cwd-empty", "tenant", "POST", exec, """{"command":"id","cwd":""}""", "cwd");
        yield return Invalid("exec-cwd-nul", "tenant", "POST", exec, """{"command":"id","cwd":"/tmp\u0000;reboot"}""", "cwd");
        yield return Invalid("exec-cwd-number", "tenant", "POST", exec, """{"command":"id","cwd":7}""", "cwd");
        yield return Invalid("exec-timeout-string", "tenant", "POST", exec, """{"command":"id","timeout_seconds":"10"}""", "timeout_seconds");
        yield return Invalid("exec-timeout-negative", "tenant", "POST", exec, """{"command":"id","timeout_seconds":-1}""", "timeout_seconds");
        yield return Invalid("exec-timeout-huge", "tenant", "POST", exec, """{"command":"id","timeout_seconds":1e300}""", "timeout_seconds");
        yield return Invalid("exec-stdin-twice", "tenant", "POST", exec, """{"command":"id","stdin":"a","stdin_base64":"YQ=="}""", "stdin");
        yield return Invalid("exec-stdin-base64-garbage", "tenant", "POST", exec, """{"command":"id","stdin_base64":"%%%"}""", "stdin_base64");
        yield return Invalid("exec-max-output-zero", "tenant", "POST", exec, """{"command":"id","max_output_bytes":0}""", "max_output_bytes");
        yield return Invalid("exec-unknown-field", "tenant", "POST", exec, """{"command":"id","sudo":true}""", "sudo");
        yield return Invalid("exec-nested-arrays-10000", "tenant", "POST", exec, Nested(10_000), "body");
        yield return InvalidBytes("exec-overlong-utf8", "tenant", "POST", exec, OverlongUtf8("{\"command\":\"cat /etc", "\"}"), "command");
        yield return TooLarge("exec-huge-body", "tenant", "POST", exec, 20 * 1024 * 1024, BodyLimits);

        // POST /api/workflows: definitions that are broken, nested, self-expanding or in the wrong media type.
        const string workflows = "/api/workflows";
        yield return WorkflowInvalid("workflow-yaml-syntax", "name: [unclosed\nsteps:\n", Yaml);
        yield return WorkflowInvalid("workflow-json-truncated", "{\"name\":\"x\",\"steps\":[", Json);
        yield return WorkflowInvalid("workflow-empty-body", "", Yaml);
        yield return WorkflowInvalid("workflow-json-nested-arrays-10000", Nested(10_000), Json);
        yield return WorkflowInvalid("workflow-json-nested-objects-10000", NestedObjects(10_000), Json);
        yield return WorkflowInvalid("workflow-yaml-nested-flow-10000", Nested(10_000), Yaml);
        yield return WorkflowInvalid("workflow-yaml-billion-laughs", BillionLaughs(), Yaml);
        yield return WorkflowInvalid("workflow-json-wrong-types", """{"name":5,"steps":"x"}""", Json);
        yield return WorkflowInvalid("workflow-json-unknown-field", """{"name":"hostile-flow","evil":1,"steps":[{"id":"a","uses":"sleep","with":{"duration":"1s"}}]}""", Json);
        yield return WorkflowInvalid("workflow-name-rtl-override", "name: \"evil\\u202Egpj\"\nsteps:\n  - id: a\n    uses: sleep\n    with: { duration: 1s }\n", Yaml);
        yield return WorkflowInvalid("workflow-name-traversal", "name: ../../etc\nsteps:\n  - id: a\n    uses: sleep\n    with: { duration: 1s }\n", Yaml);
        yield return WorkflowInvalid("workflow-name-nul", """{"name":"a\u0000b","steps":[{"id":"a","uses":"sleep","with":{"duration":"1s"}}]}""", Json);
        yield return WorkflowInvalid("workflow-name-lone-surrogate", """{"name":"\uD800","steps":[{"id":"a","uses":"sleep","with":{"duration":"1s"}}]}""", Json);
        yield return WorkflowInvalid("workflow-two-yaml-documents", Waiting + "---\n" + Waiting, Yaml);
        yield return WorkflowInvalid("workflow-step-id-shell", "name: hostile-flow\nsteps:\n  - id: \"$(reboot)\"\n    uses: sleep\n    with: { duration: 1s }\n", Yaml);
        yield return InvalidBytes("workflow-overlong-utf8", "tenant", "POST", workflows, OverlongUtf8("name: hostile", "\nsteps: []\n"), "body", Yaml);
        yield return Unsupported("workflow-xml", Waiting, "application/xml");
        yield return Unsupported("workflow-html", Waiting, "text/html");
        yield return Unsupported("workflow-utf16-charset", Waiting, "application/json; charset=utf-16");
        yield return Unsupported("workflow-garbage-content-type", Waiting, ";;;");
        yield return TooLarge("workflow-huge-body", "tenant", "POST", workflows, 256 * 1024 + 1, dependsOn: null, Yaml);

        // Workflow names and versions in paths.
        foreach (var (name, path, field) in new[]
        {
            ("uppercase", "Baseline", "name"), ("64-chars", new string('a', 64), "name"), ("encoded-traversal", "..%2Fetc", "name"), 
            ("rtl-override", "a%E2%80%AEb", "name"), ("version-abc", "baseline/versions/abc", "version"), ("version-zero", "baseline/versions/0", "version"),
            ("version-negative", "baseline/versions/-1", "version"), ("version-overflow", "baseline/versions/99999999999", "version"), ("version-bad-name", "BAD/versions/1", "name"),
        })
        {
            yield return Invalid($"workflow-get-{name}", "tenant", "GET", $"/api/workflows/{path}", null, field);
        }

        // POST /api/runs.
        const string runs = "/api/runs";
        yield return Invalid("run-empty-body", "tenant", "POST", runs, "", "body");
        yield return Invalid("run-truncated-json", "tenant", "POST", runs, "{\"workflow\":\"", "body");
        yield return Invalid("run-array-body", "tenant", "POST", runs, "[]", "body");
        yield return Invalid("run-workflow-number", "tenant", "POST", runs, """{"workflow":5}""", "workflow");
        yield return Invalid("run-workflow-traversal", "tenant", "POST", runs, """{"workflow":"../etc/passwd"}""", "workflow");
        yield return Invalid("run-workflow-rtl-override", "tenant", "POST", runs, """{"workflow":"base\u202Eline"}""", "workflow");
        yield return Invalid("run-workflow-lone-surrogate", "tenant", "POST", runs, """{"workflow":"\uD800"}""", "workflow");
        yield return Invalid("run-version-string", "tenant", "POST", runs, """{"workflow":"baseline","version":"1"}""", "version");
        yield return Invalid("run-version-zero", "tenant", "POST", runs, """{"workflow":"baseline","version":0}""", "version");
        yield return Invalid("run-inputs-array", "tenant", "POST", runs, """{"workflow":"baseline","inputs":[]}""", "inputs");
        yield return Invalid("run-secret-number", "tenant", "POST", runs, """{"workflow":"baseline","secrets":{"A":1}}""", "secrets.A");
        yield return Invalid("run-unknown-field", "tenant", "POST", runs, """{"workflow":"baseline","evil":true}""", "evil");
        yield return Invalid("run-idempotency-key-empty", "tenant", "POST", runs, """{"workflow":"baseline","idempotency_key":""}""", "idempotency_key");
        yield return Invalid("run-idempotency-header-300-chars", "tenant", "POST", runs, """{"workflow":"baseline"}""", "Idempotency-Key") with { Headers = [("Idempotency-Key", new string('k', 300))] };
        yield return Invalid("run-idempotency-keys-differ", "tenant", "POST", runs, """{"workflow":"baseline","idempotency_key":"a"}""", "idempotency_key") with { Headers = [("Idempotency-Key", "b")] };
        yield return Invalid("run-nested-arrays-10000", "tenant", "POST", runs, Nested(10_000), "body");
        yield return InvalidBytes("run-overlong-utf8", "tenant", "POST", runs, OverlongUtf8("{\"workflow\":\"base", "\"}"), "body");
        yield return TooLarge("run-huge-body", "tenant", "POST", runs, 1024 * 1024 + 1, dependsOn: null);
        yield return new("run-unknown-workflow", "tenant", "POST", runs, 404, "not-found") { Body = Utf8("""{"workflow":"no-such-workflow"}"""), ContentType = Json };

        // Run ids, step ids and signal names in paths; event positions.
        foreach (var (name, method, path, field) in new[]
        {
            ("get-uppercase", "GET", "/api/runs/RUN-1", "id"), ("get-64-chars", "GET", $"/api/runs/{new string('r', 64)}", "id"),
            ("get-1000-chars", "GET", $"/api/runs/{new string('r', 1000)}", "id"),
            ("get-semicolon", "GET", "/api/runs/run%3Bdrop", "id"), ("get-homoglyph", "GET", "/api/runs/r%D1%83n", "id"),
            ("events-bad-id", "GET", "/api/runs/RUN/events", "id"), ("events-after-abc", "GET", "/api/runs/{run}/events?after=abc", "after"),
            ("events-after-negative", "GET", "/api/runs/{run}/events?after=-1", "after"),
            ("output-step-digit", "GET", "/api/runs/{run}/steps/1abc/output", "step"), ("output-step-substitution", "GET", "/api/runs/{run}/steps/%24(id)/output", "step"),
            ("output-step-65-chars", "GET", $"/api/runs/{{run}}/steps/{new string('s', 65)}/output", "step"), ("output-stream-stdin", "GET", "/api/runs/{run}/steps/wait/output?stream=stdin", "stream"),
            ("output-bad-id", "GET", "/api/runs/RUN/steps/wait/output", "id"), ("cancel-bad-id", "POST", "/api/runs/RUN/cancel", "id"),
            ("retry-underscore-id", "POST", "/api/runs/run_1/retry", "id"), ("signal-bad-id", "POST", "/api/runs/RUN/signals/go", "id"),
            ("signal-name-semicolon", "POST", "/api/runs/{run}/signals/go%3Breboot", "name"), ("signal-name-65-chars", "POST", $"/api/runs/{{run}}/signals/{new string('g', 65)}", "name"),
            ("signal-name-digit", "POST", "/api/runs/{run}/signals/1go", "name"), ("signal-name-rtl-override", "POST", "/api/runs/{run}/signals/g%E2%80%AEo", "name"),
        })
        {
            yield return Invalid($"run-{name}", "tenant", method, path, null, field);
        }

        yield return Invalid("run-events-last-event-id-garbage", "tenant", "GET", "/api/runs/{run}/events", null, "Last-Event-ID") with { Headers = [("Last-Event-ID", "x'; drop table runs;--")] };
        yield return Invalid("run-signal-truncated-payload", "tenant", "POST", "/api/runs/{run}/signals/go", "{\"approved\":\"", "body");
        yield return Invalid("run-signal-nested-payload-10000", "tenant", "POST", "/api/runs/{run}/signals/go", Nested(10_000), "body");
        yield return TooLarge("run-signal-huge-payload", "tenant", "POST", $"/api/runs/{Run404}/signals/go", 256 * 1024 + 1, dependsOn: null);

        // Run lists.
        foreach (var (name, query, field) in new[]
        {
            ("limit-negative", "limit=-1", "limit"), ("limit-abc", "limit=abc", "limit"), ("limit-zero", "limit=0", "limit"), ("limit-overflow", "limit=99999999999", "limit"),
            ("cursor-garbage", "cursor=garbage", "cursor"), ("cursor-empty", "cursor=", "cursor"), ("status-unknown", "status=exploded", "status"), ("workflow-traversal", "workflow=..%2Fetc", "workflow"),
        })
        {
            yield return Invalid($"run-list-{name}", "tenant", "GET", $"/api/runs?{query}", null, field);
        }

        // /api/tenants with the admin key.
        const string tenants = "/api/tenants";
        yield return Invalid("tenant-empty-body", "admin", "POST", tenants, "", "body");
        yield return Invalid("tenant-truncated-json", "admin", "POST", tenants, "{\"id\":\"hostile-x\"", "body");
        yield return Invalid("tenant-unclosed-arrays-10000", "admin", "POST", tenants, new string('[', 10_000), "body");
        yield return Invalid("tenant-id-nul", "admin", "POST", tenants, """{"id":"hostile-x\u0000"}""", "id");
        yield return Invalid("tenant-id-zero-width-joiner", "admin", "POST", tenants, """{"id":"hostile\u200D-x"}""", "id");
        yield return Invalid("tenant-id-homoglyph", "admin", "POST", tenants, """{"id":"h\u043Estile-x"}""", "id");
        yield return Invalid("tenant-id-rtl-override", "admin", "POST", tenants, """{"id":"hostile-x\u202E"}""", "id");
        yield return Invalid("tenant-id-lone-surrogate", "admin", "POST", tenants, """{"id":"hostile-x\uDBFF"}""", "id");
        yield return Invalid("tenant-id-41-chars", "admin", "POST", tenants, $$"""{"id":"{{new string('t', 41)}}"}""", "id");
        yield return Invalid("tenant-id-grain-key-separator", "admin", "POST", tenants, """{"id":"dev/other"}""", "id");
        yield return Invalid("tenant-display-name-rtl-override", "admin", "POST", tenants, """{"id":"hostile-rtl","display_name":"admin\u202Egnp.exe"}""", "display_name");
        yield return Invalid("tenant-display-name-number", "admin", "POST", tenants, """{"id":"hostile-x","display_name":7}""", "display_name");
        yield return Invalid("tenant-quotas-string", "admin", "POST", tenants, """{"id":"hostile-q","quotas":"lots"}""", "quotas");
        yield return Invalid("tenant-unknown-field", "admin", "POST", tenants, """{"id":"hostile-x","is_admin":true}""", "is_admin");
        yield return InvalidBytes("tenant-overlong-utf8", "admin", "POST", tenants, OverlongUtf8("{\"id\":\"hostile", "x\"}"), "body");
        yield return Invalid("tenant-xml-body", "admin", "POST", tenants, """<tenant id="hostile-x"/>""", "body", "application/xml");
        yield return TooLarge("tenant-huge-body", "admin", "POST", tenants, 16 * 1024 + 1, dependsOn: null);
        yield return Invalid("tenant-get-uppercase", "admin", "GET", "/api/tenants/DEV", null, "id");
        yield return Invalid("tenant-get-41-chars", "admin", "GET", $"/api/tenants/{new string('t', 41)}", null, "id");
        yield return Invalid("tenant-quotas-bad-id", "admin", "PUT", "/api/tenants/DEV/quotas", """{"max_instances":1}""", "id");
        yield return Invalid("tenant-quotas-string-value", "admin", "PUT", $"/api/tenants/{HostileInputFixture.OtherTenant}/quotas", """{"max_instances":"5"}""", "max_instances");
        yield return Invalid("tenant-quotas-negative", "admin", "PUT", $"/api/tenants/{HostileInputFixture.OtherTenant}/quotas", """{"max_instances":-1}""", "max_instances");
        yield return Invalid("tenant-quotas-fraction", "admin", "PUT", $"/api/tenants/{HostileInputFixture.OtherTenant}/quotas", """{"max_concurrent_runs":1.5}""", "max_concurrent_runs");
        yield return Invalid("tenant-quotas-depth-over-limit", "admin", "PUT", $"/api/tenants/{HostileInputFixture.OtherTenant}/quotas", """{"max_run_depth":101}""", "max_run_depth");
        yield return Invalid("tenant-quotas-depth-negative", "admin", "PUT", $"/api/tenants/{HostileInputFixture.OtherTenant}/quotas", """{"max_run_depth":-1}""", "max_run_depth");
        yield return Invalid("tenant-quotas-unknown", "admin", "PUT", $"/api/tenants/{HostileInputFixture.OtherTenant}/quotas", """{"cpus":4}""", "cpus");
        yield return Invalid("tenant-quotas-array", "admin", "PUT", $"/api/tenants/{HostileInputFixture.OtherTenant}/quotas", "[]", "body");
        yield return Invalid("tenant-quotas-empty", "admin", "PUT", $"/api/tenants/{HostileInputFixture.OtherTenant}/quotas", "", "body");
        yield return TooLarge("tenant-quotas-huge-body", "admin", "PUT", $"/api/tenants/{HostileInputFixture.OtherTenant}/quotas", 16 * 1024 + 1, dependsOn: null);

        // Keys with the admin key.
        var keys = $"/api/tenants/{HostileInputFixture.OtherTenant}/keys";
        yield return Invalid("key-create-bad-tenant", "admin", "POST", "/api/tenants/a_b/keys", """{"name":"x"}""", "id");
        yield return Invalid("key-name-number", "admin", "POST", keys, """{"name":5}""", "name");
        yield return Invalid("key-name-nul", "admin", "POST", keys, """{"name":"ci\u0000"}""", "name");
        yield return Invalid("key-name-rtl-override", "admin", "POST", keys, """{"name":"ci\u202Eexe.txt"}""", "name");
        yield return Invalid("key-expires-garbage", "admin", "POST", keys, """{"expires_at":"tomorrow'; drop table keys;--"}""", "expires_at");
        yield return Invalid("key-expires-days-string", "admin", "POST", keys, """{"expires_in_days":"30"}""", "expires_in_days");
        yield return Invalid("key-unknown-field", "admin", "POST", keys, """{"scope":"admin"}""", "scope");
        yield return Invalid("key-unclosed-arrays-10000", "admin", "POST", keys, new string('[', 10_000), "body");
        yield return TooLarge("key-huge-body", "admin", "POST", keys, 16 * 1024 + 1, dependsOn: null);
        yield return Invalid("key-list-bad-tenant", "admin", "GET", "/api/tenants/DEV/keys", null, "id");
        yield return Invalid("key-revoke-not-hex", "admin", "DELETE", $"{keys}/NOTHEX", null, "keyId");
        yield return Invalid("key-revoke-13-hex", "admin", "DELETE", $"{keys}/0123456789abc", null, "keyId");
        yield return Invalid("key-revoke-encoded-traversal", "admin", "DELETE", $"{keys}/..%2F..%2Fdev", null, "keyId");
        yield return new("key-revoke-missing-tenant", "admin", "DELETE", "/api/tenants/no-such-tenant/keys/0123456789ab", 404, "not-found");

        // Keys that are missing, revoked (and replayed), forged or of the wrong kind.
        yield return new("auth-no-key", "none", "GET", "/api/instances", 401, "unauthorized");
        yield return new("auth-revoked-key", "revoked", "GET", "/api/instances", 401, "unauthorized");
        yield return new("auth-revoked-key-replayed-on-start", "revoked", "POST", runs, 401, "unauthorized") { Body = Utf8("""{"workflow":"baseline"}"""), ContentType = Json };
        yield return new("auth-tampered-secret", "none", "GET", "/api/runs", 401, "unauthorized") { Headers = [("Authorization", "Bearer {tenant-key}0")] };
        yield return new("auth-unknown-tenant", "none", "GET", "/api/runs", 401, "unauthorized") { Headers = [("Authorization", $"Bearer orch_nobody_0123456789ab_{new string('f', 64)}")] };
        yield return new("auth-wrong-scheme", "none", "GET", "/api/runs", 401, "unauthorized") { Headers = [("Authorization", "Token abc")] };
        yield return new("auth-key-600-chars", "none", "GET", "/api/runs", 401, "unauthorized") { Headers = [("Authorization", "Bearer " + new string('k', 600))] };
        yield return new("auth-basic-garbage", "none", "GET", "/api/runs", 401, "unauthorized") { Headers = [("Authorization", "Basic !!!not-base64!!!")] };
        yield return new("auth-non-ascii-key", "none", "GET", "/api/runs", 401, "unauthorized") { Headers = [("Authorization", "Bearer ключ-🔑")] };
        yield return new("auth-key-in-query-string", "none", "GET", "/api/instances?api_key={tenant-key}&access_token={tenant-key}", 401, "unauthorized");
        yield return new("auth-admin-key-on-tenant-api", "admin", "GET", "/api/runs", 403, "forbidden");
        yield return new("auth-tenant-key-creates-tenant", "tenant", "POST", tenants, 403, "forbidden") { Body = Utf8("""{"id":"hostile-sneak"}"""), ContentType = Json };
        yield return new("auth-tenant-key-mints-key", "tenant", "POST", "/api/tenants/dev/keys", 403, "forbidden") { Body = Utf8("""{"name":"sneak"}"""), ContentType = Json };
        yield return new("auth-other-tenant-revokes-key", "other", "DELETE", "/api/tenants/dev/keys/{tenant-key-id}", 403, "forbidden");

        // Another tenant naming the dev tenant's objects: 404 everywhere, and nothing changes.
        foreach (var (name, method, path, body) in new[]
        {
            ("get-instance", "GET", "/api/instances/baseline", null), ("stop-instance", "POST", "/api/instances/baseline/stop", null),
            ("delete-instance", "DELETE", "/api/instances/baseline", null), ("exec", "POST", "/api/instances/baseline/exec", """{"command":"touch /tmp/pwned"}"""),
            ("get-workflow", "GET", "/api/workflows/baseline", null), ("get-workflow-version", "GET", "/api/workflows/baseline/versions/1", null),
            ("start-run", "POST", "/api/runs", """{"workflow":"baseline"}"""), ("get-run", "GET", "/api/runs/{run}", null),
            ("run-events", "GET", "/api/runs/{run}/events", null), ("step-output", "GET", "/api/runs/{run}/steps/wait/output", null),
            ("cancel-run", "POST", "/api/runs/{run}/cancel", null), ("retry-run", "POST", "/api/runs/{run}/retry", null),
            ("signal-run", "POST", "/api/runs/{run}/signals/go", """{"approved":true}"""),
        })
        {
            yield return new($"cross-tenant-{name}", "other", method, path, 404, "not-found") { Body = body is null ? null : Utf8(body), ContentType = body is null ? null : Json };
        }

        // X-Request-Id injection attempts (CR/LF cannot be sent, so their encodings are).
        foreach (var (name, value) in new[]
        {
            ("encoded-crlf", "abc%0d%0aSet-Cookie:%20evil=1"), ("space", "abc def"), ("quotes", "\"abc\""), ("201-chars", new string('r', 201)),
            ("non-ascii", "réquête-ü-🙂"), ("markup", "<script>alert(1)</script>"),
        })
        {
            yield return new($"request-id-{name}", "tenant", "GET", "/api/instances", 400, "invalid-request-id") { Headers = [("X-Request-Id", value)], DependsOn = RequestIds };
        }

        // Kestrel refuses a NUL (%00) in the path with a bare 400 before the application runs: status only.
        foreach (var (caller, path) in new[] { ("tenant", "/api/instances/box%00"), ("tenant", "/api/runs/run%00"), ("tenant", "/api/workflows/a%00"), ("admin", "/api/tenants/dev%00") })
        {
            yield return new($"path-nul-{path.Split('/')[2]}", caller, "GET", path, 400, null);
        }

        // Kestrel refuses request headers over 32 KiB in total with 431 before the application runs, so there is
        // no problem body to check: only the status is asserted for this case.
        yield return new("header-over-32-kib", "tenant", "GET", "/api/instances", 431, null) { Headers = [("X-Filler", new string('h', 40 * 1024))] };
        yield return Invalid("header-16-kib-with-bad-id", "tenant", "GET", "/api/instances/NOT-VALID", null, "id") with { Headers = [("X-Filler", new string('h', 16 * 1024))] };
    }

    private static HostileCase Invalid(string name, string caller, string method, string path, string? body, string field, string contentType = Json) =>
        new(name, caller, method, path, 400, "validation", field) { Body = body is null ? null : Utf8(body), ContentType = body is null ? null : contentType };

    private static HostileCase InvalidBytes(string name, string caller, string method, string path, byte[] body, string field, string contentType = Json) =>
        new(name, caller, method, path, 400, "validation", field) { Body = () => body, ContentType = contentType };

    private static HostileCase WorkflowInvalid(string name, string body, string contentType) =>
        new(name, "tenant", "POST", "/api/workflows", 400, "workflow-invalid") { Body = Utf8(body), ContentType = contentType };

    private static HostileCase Unsupported(string name, string body, string contentType) =>
        new(name, "tenant", "POST", "/api/workflows", 415, "unsupported-media-type") { Body = Utf8(body), ContentType = contentType };

    /// <summary>A JSON object padded past <paramref name="bytes"/> (made when sent, not held by the case list).</summary>
    private static HostileCase TooLarge(string name, string caller, string method, string path, int bytes, string? dependsOn, string contentType = Json) =>
        new(name, caller, method, path, 413, "payload-too-large")
        {
            Body = () => Encoding.UTF8.GetBytes($$"""{"padding":"{{new string('x', bytes)}}"}"""),
            ContentType = contentType,
            DependsOn = dependsOn,
        };

    private static Func<byte[]> Utf8(string text) => () => Encoding.UTF8.GetBytes(text);

    /// <summary>'/' encoded in two bytes (C0 AF), which strict UTF-8 decoders must refuse.</summary>
    private static byte[] OverlongUtf8(string before, string after) => [.. Encoding.UTF8.GetBytes(before), 0xC0, 0xAF, .. Encoding.UTF8.GetBytes(after)];

    private static string Nested(int depth) => new string('[', depth) + new string(']', depth);

    private static string NestedObjects(int depth) => string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth);

    /// <summary>Nine levels of aliases of nine: 9^9 (387 million) strings once expanded.</summary>
    private static string BillionLaughs()
    {
        var yaml = new StringBuilder("name: hostile-lol\nsteps:\n  - id: a\n    uses: sleep\n    with:\n      duration: 1s\n      l0: &l0 \"lol\"\n");
        for (var level = 1; level <= 9; level++)
        {
            yaml.Append("      l").Append(level).Append(": &l").Append(level).Append(" [")
                .AppendJoin(", ", Enumerable.Repeat($"*l{level - 1}", 9)).Append("]\n");
        }

        return yaml.ToString();
    }
}
