using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Orchestrator.Fly.Emulator.Tests.Support;

/// <summary>
/// An emulator on real Kestrel (loopback, free port) with a recording runtime, fast transitions and
/// rate limits scaled out of the way unless a test says otherwise; plus an HTTP client for it.
/// </summary>
internal sealed class TestEmulator : IAsyncDisposable
{
    private TestEmulator(FlyEmulator emulator, RecordingRuntime runtime, FlyEmulatorOptions options)
    {
        Emulator = emulator;
        Runtime = runtime;
        Options = options;
        Http = Client(emulator, "Bearer " + emulator.ApiToken);
        Fly = new FlyHttp(Http);
    }

    public FlyEmulator Emulator { get; }

    public RecordingRuntime Runtime { get; }

    public FlyEmulatorOptions Options { get; }

    public HttpClient Http { get; }

    public FlyHttp Fly { get; }

    public static async Task<TestEmulator> StartAsync(
        Action<FlyEmulatorOptions>? configure = null, RecordingRuntime? runtime = null, TimeProvider? time = null)
    {
        var options = new FlyEmulatorOptions
        {
            TransitionDelay = TimeSpan.FromMilliseconds(60),
            DestroyedRetention = TimeSpan.FromMilliseconds(400),
            RateLimitScale = 1000,
        };
        configure?.Invoke(options);
        runtime ??= new RecordingRuntime();
        var emulator = await FlyEmulator.StartAsync(options, loggerFactory: null, services =>
        {
            services.AddSingleton<Runtime.IMachineRuntime>(runtime);
            if (time is not null)
            {
                services.AddSingleton(time);
            }
        }, CancellationToken.None);
        return new TestEmulator(emulator, runtime, options);
    }

    /// <summary>A client with its own Authorization header (or none).</summary>
    public static HttpClient Client(FlyEmulator emulator, string? authorization)
    {
        var http = new HttpClient { BaseAddress = emulator.BaseAddress, Timeout = TimeSpan.FromSeconds(90) };
        if (authorization is not null)
        {
            http.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", authorization);
        }

        return http;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Emulator.DisposeAsync();
    }
}

/// <summary>A response as the tests look at it: status, headers and the parsed body (null when empty).</summary>
internal sealed record FlyResponse(HttpStatusCode Status, HttpResponseHeaders Headers, string Text, JsonNode? Body)
{
    public JsonObject Object => Body as JsonObject ?? throw new InvalidOperationException($"Expected a JSON object, got {(int)Status}: {Text}");

    public JsonArray Array => Body as JsonArray ?? throw new InvalidOperationException($"Expected a JSON array, got {(int)Status}: {Text}");

    public string? Error => (Body as JsonObject)?["error"]?.GetValue<string>();

    public FlyResponse Expect(HttpStatusCode status) =>
        Status == status ? this : throw new Xunit.Sdk.XunitException($"Expected {(int)status} but got {(int)Status}: {Text}");
}

/// <summary>Raw Fly API calls, with the few compositions most tests need.</summary>
internal sealed class FlyHttp(HttpClient http)
{
    public HttpClient Http => http;

    public async Task<FlyResponse> SendAsync(HttpMethod method, string path, object? body = null, string? nonce = null)
    {
        using var request = new HttpRequestMessage(method, path.TrimStart('/'));
        if (body is not null)
        {
            var text = body switch
            {
                string raw => raw,
                JsonNode node => node.ToJsonString(),
                _ => throw new ArgumentException("Body must be raw JSON text or a JsonNode.", nameof(body)),
            };
            request.Content = new StringContent(text, Encoding.UTF8, "application/json");
        }

        if (nonce is not null)
        {
            request.Headers.TryAddWithoutValidation("fly-machine-lease-nonce", nonce);
        }

        using var response = await http.SendAsync(request);
        var content = await response.Content.ReadAsStringAsync();
        return new FlyResponse(response.StatusCode, response.Headers, content, content.Length == 0 ? null : JsonNode.Parse(content));
    }

    public Task<FlyResponse> GetAsync(string path) => SendAsync(HttpMethod.Get, path);

    public Task<FlyResponse> PostAsync(string path, object? body = null, string? nonce = null) => SendAsync(HttpMethod.Post, path, body, nonce);

    public Task<FlyResponse> DeleteAsync(string path, string? nonce = null) => SendAsync(HttpMethod.Delete, path, null, nonce);

    public async Task<string> CreateAppAsync(string? name = null, string org = "personal")
    {
        name ??= "app-" + Guid.NewGuid().ToString("N")[..12];
        (await PostAsync("/v1/apps", new JsonObject { ["app_name"] = name, ["org_slug"] = org })).Expect(HttpStatusCode.Created);
        return name;
    }

    public static JsonObject MachineBody(string region = "ord", JsonObject? config = null, bool skipLaunch = false)
    {
        var body = new JsonObject { ["region"] = region, ["config"] = config ?? new JsonObject { ["image"] = "ubuntu:24.04" } };
        if (skipLaunch)
        {
            body["skip_launch"] = true;
        }

        return body;
    }

    public async Task<JsonObject> CreateMachineAsync(string app, JsonObject? body = null) =>
        (await PostAsync($"/v1/apps/{app}/machines", body ?? MachineBody())).Expect(HttpStatusCode.OK).Object;

    public async Task<JsonObject> GetMachineAsync(string app, string id) =>
        (await GetAsync($"/v1/apps/{app}/machines/{id}")).Expect(HttpStatusCode.OK).Object;

    public async Task<string> StateAsync(string app, string id) => (await GetMachineAsync(app, id))["state"]!.GetValue<string>();

    /// <summary>The API's own wait; fails the test if the state is not reached within <paramref name="timeoutSeconds"/>.</summary>
    public async Task WaitForAsync(string app, string id, string state, string? instanceId = null, int timeoutSeconds = 10)
    {
        var query = $"state={state}&timeout={timeoutSeconds}" + (instanceId is null ? "" : $"&instance_id={instanceId}");
        (await GetAsync($"/v1/apps/{app}/machines/{id}/wait?{query}")).Expect(HttpStatusCode.OK);
    }

    /// <summary>Creates a machine and waits until it is started.</summary>
    public async Task<JsonObject> StartedMachineAsync(string app, JsonObject? body = null)
    {
        var machine = await CreateMachineAsync(app, body);
        await WaitForAsync(app, machine["id"]!.GetValue<string>(), "started");
        return await GetMachineAsync(app, machine["id"]!.GetValue<string>());
    }

    /// <summary>Polls the machine every few ms and returns each state it was seen in, in order, until <paramref name="until"/>.</summary>
    public async Task<IReadOnlyList<string>> ObserveStatesAsync(string app, string id, string until, TimeSpan? timeout = null)
    {
        var seen = new List<string>();
        using var limit = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        while (true)
        {
            var response = await GetAsync($"/v1/apps/{app}/machines/{id}");
            var state = response.Status == HttpStatusCode.NotFound ? "404" : response.Expect(HttpStatusCode.OK).Object["state"]!.GetValue<string>();
            if (seen.Count == 0 || seen[^1] != state)
            {
                seen.Add(state);
            }

            if (state == until)
            {
                return seen;
            }

            if (limit.IsCancellationRequested)
            {
                throw new Xunit.Sdk.XunitException($"Machine {id} never reached {until}; seen: {string.Join(" -> ", seen)}");
            }

            await Task.Delay(5);
        }
    }
}

internal static class JsonNodeExtensions
{
    public static string Str(this JsonNode? node, string property) =>
        node?[property]?.GetValue<string>() ?? throw new InvalidOperationException($"No string '{property}' in {node?.ToJsonString()}");
}
