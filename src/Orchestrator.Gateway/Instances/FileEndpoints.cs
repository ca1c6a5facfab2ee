using System.Globalization;
using Orchestrator.Gateway.Auth;
using Orchestrator.Gateway.OpenApi;
using Orchestrator.Gateway.Workflows;
using Orchestrator.Grains.Sessions;

namespace Orchestrator.Gateway.Instances;

/// <summary>
/// <c>PUT</c> and <c>GET /api/instances/{id}/files?path=</c>: a file in and out of the instance's machine, over the
/// same pooled SSH connection commands use. Both stream in bounded pieces, so a file of any size up to the limit costs
/// the gateway one chunk of memory; see <see cref="FileTransfer"/> for the commands that move the bytes.
/// </summary>
public static class FileEndpoints
{
    /// <summary>The largest file an upload takes; larger bodies are 413 before a byte is read.</summary>
    public const long MaxUploadBytes = 1L << 30;

    public static RouteGroupBuilder MapFileEndpoints(this IEndpointRouteBuilder routes)
    {
        var api = routes.MapGroup("/api/instances").WithTags("Instances");
        api.MapPut("/{id}/files", UploadAsync).WithName("UploadInstanceFile")
            .WithSummary("Write a file")
            .WithDescription(
                "Writes the request body, byte for byte, to the absolute path on the instance's machine, creating missing "
                + "parent directories and replacing an existing file only once the whole body arrived (it is written beside "
                + "it first, then renamed). The body is streamed to the machine in pieces; at most "
                + $"{MaxUploadBytes} bytes (1 GiB). The answer gives the size and SHA-256 the machine computed of what it wrote.")
            .WithPathParameter("id", "The instance's name.")
            .WithQueryParameter<string>("path", "Absolute path of the file on the machine (required).")
            .WithQueryParameter<string>("mode", "Permission bits in octal, such as 0644 (the default) or 755.")
            .WithRequestBody((Type?)null, "The file's bytes.", required: true, "application/octet-stream")
            .WithResponse(StatusCodes.Status200OK, "The file was written.", [typeof(FileWrittenResponse)], "application/json")
            .ProducesProblems(400, 404, 409, 413, 502, 503);
        api.MapGet("/{id}/files", DownloadAsync).WithName("DownloadInstanceFile")
            .WithSummary("Read a file")
            .WithDescription(
                "Streams the regular file at the absolute path on the instance's machine, byte for byte, with its size as "
                + "Content-Length. A missing file is 404; a directory or other non-regular file is 400. If the file "
                + "shrinks while it is read the connection is cut short, so a client never takes a partial file for a whole one.")
            .WithPathParameter("id", "The instance's name.")
            .WithQueryParameter<string>("path", "Absolute path of the file on the machine (required).")
            .WithResponse(StatusCodes.Status200OK, "The file's bytes.", [typeof(string)], "application/octet-stream")
            .ProducesProblems(400, 404, 409, 502, 503);
        return api;
    }

    internal static async Task UploadAsync(string id, HttpContext context, IClusterClient cluster)
    {
        var path = context.Request.Query["path"].ToString();
        var modeText = context.Request.Query["mode"].ToString();
        if (Validate(id, path) is { } invalid)
        {
            await invalid.ExecuteAsync(context);
            return;
        }

        var mode = modeText.Length == 0 ? "644" : modeText;
        if (!FileTransfer.IsMode(mode))
        {
            await InstanceProblems.Invalid("mode", "must be octal permission bits such as 0644 or 755").ExecuteAsync(context);
            return;
        }

        if (context.Request.ContentLength > MaxUploadBytes)
        {
            await WorkflowProblems.TooLarge(int.MaxValue < MaxUploadBytes ? int.MaxValue : (int)MaxUploadBytes).ExecuteAsync(context);
            return;
        }

        var transfer = new FileTransfer(Session(cluster, context, id), path);
        try
        {
            var written = await transfer.UploadAsync(context.Request.Body, mode, context.RequestAborted);
            await TypedResults.Json(written, InstanceEndpoints.Json).ExecuteAsync(context);
        }
        catch (Exception ex) when (InstanceProblems.FromException(ex) is { } mapped)
        {
            await mapped.ExecuteAsync(context);
        }
        catch (FileTransferException ex)
        {
            await ex.ToProblem().ExecuteAsync(context);
        }
    }

    internal static async Task DownloadAsync(string id, HttpContext context, IClusterClient cluster)
    {
        var path = context.Request.Query["path"].ToString();
        if (Validate(id, path) is { } invalid)
        {
            await invalid.ExecuteAsync(context);
            return;
        }

        var transfer = new FileTransfer(Session(cluster, context, id), path);
        long size;
        try
        {
            size = await transfer.StatAsync(context.RequestAborted);
        }
        catch (Exception ex) when (InstanceProblems.FromException(ex) is { } mapped)
        {
            await mapped.ExecuteAsync(context);
            return;
        }
        catch (FileTransferException ex)
        {
            await ex.ToProblem().ExecuteAsync(context);
            return;
        }

        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/octet-stream";
        context.Response.ContentLength = size;
        try
        {
            await transfer.DownloadAsync(context.Response.Body, size, context.RequestAborted);
        }
        catch (Exception ex) when (ex is FileTransferException or InstanceUnreachableException)
        {
            // The status line is gone: cutting the connection short is the only way left to say the copy is partial.
            context.Abort();
        }
    }

    private static ISshSessionGrain Session(IClusterClient cluster, HttpContext context, string id) =>
        cluster.GetGrain<ISshSessionGrain>(SshSessionKey.Format(context.User.Tenant(), id, SshSessionKey.ExecSession));

    private static IResult? Validate(string id, string path)
    {
        if (Grains.Instances.InstanceSpecRules.ValidateName(id) is { } idProblem)
        {
            return InstanceProblems.Invalid("id", idProblem);
        }

        return FileTransfer.ValidatePath(path) is { } pathProblem ? InstanceProblems.Invalid("path", pathProblem) : null;
    }
}

/// <summary>What <c>PUT /api/instances/{id}/files</c> answers: what the machine wrote, as it measured it.</summary>
/// <param name="Path">The file's absolute path.</param>
/// <param name="SizeBytes">Bytes written.</param>
/// <param name="Mode">Permission bits, in octal.</param>
/// <param name="Sha256">SHA-256 of the written file, lowercase hex.</param>
public sealed record FileWrittenResponse(string Path, long SizeBytes, string Mode, string Sha256);

internal sealed class FileTransferException(int status, string title, string detail) : Exception(detail)
{
    public const string TransferFailed = InstanceProblems.TypeBase + "file-transfer-failed";

    public IResult ToProblem() =>
        TypedResults.Problem(
            detail: Message,
            statusCode: status,
            title: title,
            type: status == StatusCodes.Status404NotFound ? InstanceProblems.NotFound : status == StatusCodes.Status400BadRequest ? InstanceProblems.Validation : TransferFailed,
            extensions: status == StatusCodes.Status400BadRequest ? new Dictionary<string, object?> { ["field"] = "path" } : null);

    public static FileTransferException NotFound(string path) => new(StatusCodes.Status404NotFound, "No such file", $"'{path}' does not exist on the machine.");

    public static FileTransferException NotRegular(string path) => new(StatusCodes.Status400BadRequest, "The request is invalid", $"path '{path}' is not a regular file");

    public static FileTransferException Failed(string what, string detail) =>
        new(StatusCodes.Status502BadGateway, "The machine could not complete the transfer", string.Create(CultureInfo.InvariantCulture, $"{what}: {detail}"));
}
