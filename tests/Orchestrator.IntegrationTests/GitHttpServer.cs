using System.Diagnostics;
using System.Text;

namespace Orchestrator.IntegrationTests;

/// <summary>
/// A private git smart-HTTP server for tests: <c>git http-backend</c> as CGI behind Kestrel on loopback, answering 401 with
/// a Basic challenge unless the request carries the one username and password it was given.
/// </summary>
internal sealed class GitHttpServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private GitHttpServer(WebApplication app, string root)
    {
        _app = app;
        Root = root;
    }

    /// <summary>The directory whose bare repositories it serves.</summary>
    public string Root { get; }

    public Uri BaseAddress => new(_app.Urls.First());

    /// <summary>Every Authorization header it was sent, to show the token really travelled.</summary>
    public int AuthorizedRequests { get; private set; }

    public static async Task<GitHttpServer> StartAsync(string root, string username, string password)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        GitHttpServer? server = null;
        var expected = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{username}:{password}"));
        app.Run(async context =>
        {
            if (context.Request.Headers.Authorization.ToString() != expected)
            {
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                context.Response.Headers.WWWAuthenticate = "Basic realm=\"git\"";
                return;
            }

            server!.AuthorizedRequests++;
            await CgiAsync(context, root, username);
        });
        await app.StartAsync();
        server = new GitHttpServer(app, root);
        return server;
    }

    private static async Task CgiAsync(HttpContext context, string root, string user)
    {
        var start = new ProcessStartInfo("git", "http-backend")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["GIT_PROJECT_ROOT"] = root;
        start.Environment["GIT_HTTP_EXPORT_ALL"] = "1";
        start.Environment["REQUEST_METHOD"] = context.Request.Method;
        start.Environment["PATH_INFO"] = context.Request.Path.Value ?? "/";
        start.Environment["QUERY_STRING"] = context.Request.QueryString.Value?.TrimStart('?') ?? "";
        start.Environment["CONTENT_TYPE"] = context.Request.ContentType ?? "";
        start.Environment["REMOTE_USER"] = user;
        start.Environment["REMOTE_ADDR"] = "127.0.0.1";
        if (context.Request.Headers.ContentEncoding.ToString() is { Length: > 0 } encoding)
        {
            start.Environment["HTTP_CONTENT_ENCODING"] = encoding;
        }

        if (context.Request.Headers["Git-Protocol"].ToString() is { Length: > 0 } protocol)
        {
            start.Environment["GIT_PROTOCOL"] = protocol;
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        await context.Request.Body.CopyToAsync(process.StandardInput.BaseStream);
        process.StandardInput.Close();

        // CGI: headers (with Status:) up to a blank line, then the body.
        var output = process.StandardOutput.BaseStream;
        var header = new StringBuilder();
        while (!header.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal) && !header.ToString().EndsWith("\n\n", StringComparison.Ordinal))
        {
            var b = output.ReadByte();
            if (b < 0)
            {
                break;
            }

            header.Append((char)b);
        }

        context.Response.StatusCode = StatusCodes.Status200OK;
        foreach (var line in header.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                continue;
            }

            var (name, value) = (line[..colon], line[(colon + 1)..].Trim());
            if (name.Equals("Status", StringComparison.OrdinalIgnoreCase))
            {
                context.Response.StatusCode = int.Parse(value.AsSpan(0, 3), System.Globalization.CultureInfo.InvariantCulture);
            }
            else
            {
                context.Response.Headers[name] = value;
            }
        }

        await output.CopyToAsync(context.Response.Body);
        await process.WaitForExitAsync();
        await stderr;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
