using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Orchestrator.Testing;

namespace Orchestrator.Grains.Tests;

/// <summary>
/// A real HTTP server on loopback for <c>http.check</c> steps: each path answers with the status its rule gives for
/// the n-th request to it (1-based), and every request is counted.
/// </summary>
internal sealed class LocalHttpEndpoint : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly ConcurrentDictionary<string, int> _hits = new(StringComparer.Ordinal);
    private readonly Func<string, int, int> _status;
    private readonly Func<string, int, string>? _body;
    private readonly Task _serving;

    /// <param name="status">The status of the n-th request to a path.</param>
    /// <param name="body">The body of the n-th request to a path; "path #n" when not given.</param>
    public LocalHttpEndpoint(Func<string, int, int> status, Func<string, int, string>? body = null)
    {
        _status = status;
        _body = body;
        var port = LoopbackPort.Free();
        BaseAddress = new Uri($"http://127.0.0.1:{port}/");
        _listener.Prefixes.Add(BaseAddress.ToString());
        _listener.Start();
        _serving = ServeAsync();
    }

    public Uri BaseAddress { get; }

    public int Hits(string path) => _hits.GetValueOrDefault(path);

    public string Url(string path) => new Uri(BaseAddress, path).ToString();

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException)
            {
                return;
            }

            var path = context.Request.Url!.AbsolutePath.TrimStart('/');
            var n = _hits.AddOrUpdate(path, 1, (_, count) => count + 1);
            var status = _status(path, n);
            var body = Encoding.UTF8.GetBytes(_body?.Invoke(path, n) ?? $"{path} #{n}");
            context.Response.StatusCode = status;
            await context.Response.OutputStream.WriteAsync(body);
            context.Response.Close();
        }
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        _serving.Wait(TimeSpan.FromSeconds(5));
    }
}
