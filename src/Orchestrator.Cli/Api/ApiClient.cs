using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Orchestrator.Cli.Config;

namespace Orchestrator.Cli.Api;

/// <summary>A problem the API answered: its status picks the exit code, its members make the one line printed.</summary>
public sealed class ApiException(int status, Problem problem) : Exception(Describe(status, problem))
{
    public int Status { get; } = status;

    public Problem Problem { get; } = problem;

    public int ExitCode => ExitCodes.ForStatus(Status);

    private static string Describe(int status, Problem problem)
    {
        var text = new StringBuilder();
        text.Append(problem.Title ?? $"HTTP {status}");
        if (problem.Detail is { Length: > 0 } detail && detail != problem.Title)
        {
            text.Append(": ").Append(detail);
        }

        if (problem.Field is { Length: > 0 } field && problem.Detail?.StartsWith(field, StringComparison.Ordinal) != true)
        {
            text.Append(" (field ").Append(field).Append(')');
        }

        foreach (var error in problem.Errors ?? [])
        {
            text.Append("; ").Append(error.Line).Append(':').Append(error.Column).Append(' ').Append(error.Message);
        }

        text.Append(" [").Append(status);
        if (problem.RequestId is { Length: > 0 } id)
        {
            text.Append(", request ").Append(id);
        }

        return text.Append(']').ToString();
    }
}

/// <summary>The HTTP API, with the key of the resolved <see cref="Connection"/>; failures become <see cref="ApiException"/>.</summary>
public sealed class ApiClient : IDisposable
{
    private readonly HttpClient _http;

    public ApiClient(Connection connection)
    {
        Connection = connection;
        _http = new HttpClient(new SocketsHttpHandler { AutomaticDecompression = DecompressionMethods.None })
        {
            BaseAddress = connection.Url,
            // Streams (exec, events, files) last as long as they last; Ctrl-C is the way to stop one.
            Timeout = Timeout.InfiniteTimeSpan,
        };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", connection.Key);
        // JSON unless a request asks for a stream; answers such as a step's output would otherwise be text.
        _http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("orch", typeof(ApiClient).Assembly.GetName().Version?.ToString(3) ?? "0"));
    }

    public Connection Connection { get; }

    public async Task<T> GetAsync<T>(string path, JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(new HttpRequestMessage(HttpMethod.Get, path), cancellationToken);
        return await ReadAsync(response, type, cancellationToken);
    }

    public async Task<T> SendJsonAsync<TBody, T>(HttpMethod method, string path, TBody body, JsonTypeInfo<TBody> bodyType, JsonTypeInfo<T> type, CancellationToken cancellationToken, Action<HttpRequestMessage>? configure = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = new StringContent(JsonSerializer.Serialize(body, bodyType), Encoding.UTF8, "application/json") };
        configure?.Invoke(request);
        using var response = await SendAsync(request, cancellationToken);
        return await ReadAsync(response, type, cancellationToken);
    }

    public async Task<T> SendAsync<T>(HttpMethod method, string path, JsonTypeInfo<T> type, CancellationToken cancellationToken, HttpContent? content = null)
    {
        using var response = await SendAsync(new HttpRequestMessage(method, path) { Content = content }, cancellationToken);
        return await ReadAsync(response, type, cancellationToken);
    }

    /// <summary>Sends the request; a non-success answer throws <see cref="ApiException"/>. The caller disposes the response.</summary>
    public async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken, HttpCompletionOption completion = HttpCompletionOption.ResponseHeadersRead)
    {
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, completion, cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            throw new CliException(ExitCodes.Server, $"Cannot reach {Connection.Url}: {ex.Message}");
        }
        finally
        {
            request.Dispose();
        }

        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            Problem problem;
            try
            {
                problem = JsonSerializer.Deserialize(text, ApiJson.Default.Problem) ?? Fallback(response, text);
            }
            catch (JsonException)
            {
                problem = Fallback(response, text);
            }

            throw new ApiException((int)response.StatusCode, problem);
        }
    }

    /// <summary>
    /// Opens a WebSocket of the API (the key in the Authorization header, never in the URL). A refused upgrade throws
    /// <see cref="ApiException"/> with the API's problem when it answers 400 (the same request without the upgrade
    /// names what is wrong), otherwise <see cref="CliException"/> saying what could not be done, with
    /// <paramref name="describe"/>'s wording of the status. The caller disposes the socket.
    /// </summary>
    public async Task<System.Net.WebSockets.ClientWebSocket> ConnectSocketAsync(Uri target, string what, Func<int, string, string> describe, CancellationToken cancellationToken)
    {
        var socket = new System.Net.WebSockets.ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", "Bearer " + Connection.Key);
        socket.Options.AddSubProtocol("orchestrator");
        socket.Options.CollectHttpResponseDetails = true;
        try
        {
            await socket.ConnectAsync(target, cancellationToken);
            return socket;
        }
        catch (System.Net.WebSockets.WebSocketException ex)
        {
            var status = (int)socket.HttpStatusCode;
            socket.Dispose();
            if (status == 400)
            {
                // Throws the problem when the server answers it again, as it does.
                using var plain = await SendAsync(new HttpRequestMessage(HttpMethod.Get, target.PathAndQuery), cancellationToken);
            }

            throw new CliException(status == 0 ? ExitCodes.Server : ExitCodes.ForStatus(status), $"Cannot {what}: {describe(status, ex.Message)}");
        }
    }

    public static async Task<T> ReadAsync<T>(HttpResponseMessage response, JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        return await JsonSerializer.DeserializeAsync(stream, type, cancellationToken)
            ?? throw new CliException(ExitCodes.Server, "The server answered an empty body.");
    }

    public void Dispose() => _http.Dispose();

    private static Problem Fallback(HttpResponseMessage response, string text) =>
        new(null, response.ReasonPhrase, (int)response.StatusCode, text.Length is > 0 and < 500 ? text.Trim() : null, null,
            response.Headers.TryGetValues("X-Request-Id", out var ids) ? ids.FirstOrDefault() : null, null);
}
