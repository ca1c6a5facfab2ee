using System.Buffers.Binary;
using System.Buffers.Text;
using System.Text;
using System.Text.Unicode;

namespace Orchestrator.Runs;

/// <summary>
/// The position after one run in the newest-first order: its created_at (microseconds since the Unix epoch,
/// PostgreSQL's precision) and run id. Encoded as base64url of [version 1][int64 big-endian micros][UTF-8 run id]
/// so that callers treat it as opaque.
/// </summary>
internal readonly record struct RunCursor(DateTimeOffset CreatedAt, string RunId)
{
    private const byte FormatVersion = 1;
    private const int HeaderLength = 1 + sizeof(long);
    private const int MaxEncodedLength = 2048;

    private static readonly long MinMicros = (DateTimeOffset.MinValue.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;
    private static readonly long MaxMicros = (DateTimeOffset.MaxValue.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;

    public static string Encode(DateTimeOffset createdAt, string runId)
    {
        var micros = (RunEventRules.Truncate(createdAt).UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;
        var bytes = new byte[HeaderLength + Encoding.UTF8.GetByteCount(runId)];
        bytes[0] = FormatVersion;
        BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(1), micros);
        Encoding.UTF8.GetBytes(runId, bytes.AsSpan(HeaderLength));
        return Base64Url.EncodeToString(bytes);
    }

    public static RunCursor Decode(string cursor)
    {
        if (cursor.Length is 0 or > MaxEncodedLength || !Base64Url.IsValid(cursor, out var length) || length <= HeaderLength)
        {
            throw new InvalidRunCursorException();
        }

        var bytes = new byte[length];
        if (!Base64Url.TryDecodeFromChars(cursor, bytes, out var written) || written != length || bytes[0] != FormatVersion)
        {
            throw new InvalidRunCursorException();
        }

        var micros = BinaryPrimitives.ReadInt64BigEndian(bytes.AsSpan(1));
        var runId = bytes.AsSpan(HeaderLength);
        if (micros < MinMicros || micros > MaxMicros || !Utf8.IsValid(runId) || runId.Contains((byte)0))
        {
            throw new InvalidRunCursorException();
        }

        var createdAt = new DateTimeOffset(DateTimeOffset.UnixEpoch.UtcTicks + (micros * 10), TimeSpan.Zero);
        return new RunCursor(createdAt, Encoding.UTF8.GetString(runId));
    }
}
