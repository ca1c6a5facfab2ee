using System.Buffers;
using System.Text;

namespace Orchestrator.Gateway.Workflows;

/// <summary>Reads a request body as UTF-8 text, refusing (413) bodies over a limit without buffering more than it.</summary>
internal static class RequestText
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The body's text (a leading byte order mark removed), or the problem to answer with.</summary>
    public static async Task<(string? Text, IResult? Problem)> ReadAsync(HttpRequest request, int limitBytes, CancellationToken cancellationToken)
    {
        if (request.ContentLength > limitBytes)
        {
            return (null, WorkflowProblems.TooLarge(limitBytes));
        }

        var buffer = new ArrayBufferWriter<byte>(Math.Min(limitBytes + 1, 16 * 1024));
        while (true)
        {
            var memory = buffer.GetMemory(4096);
            var read = await request.Body.ReadAsync(memory, cancellationToken);
            if (read == 0)
            {
                break;
            }

            buffer.Advance(read);
            if (buffer.WrittenCount > limitBytes)
            {
                return (null, WorkflowProblems.TooLarge(limitBytes));
            }
        }

        return Decode(buffer.WrittenSpan);
    }

    internal static (string? Text, IResult? Problem) Decode(ReadOnlySpan<byte> bytes)
    {
        if (bytes is [0xEF, 0xBB, 0xBF, ..])
        {
            bytes = bytes[3..];
        }

        try
        {
            return (StrictUtf8.GetString(bytes), null);
        }
        catch (DecoderFallbackException)
        {
            return (null, Instances.InstanceProblems.Invalid("body", "is not valid UTF-8 text"));
        }
    }
}
