namespace Orchestrator.Database;

/// <summary>
/// The database's schema cannot be used by this build: it is newer than the build knows, or an applied
/// migration differs from the embedded one. Starting anyway could corrupt data, so the silo must stop.
/// </summary>
public sealed class SchemaVersionException : Exception
{
    public SchemaVersionException()
    {
    }

    public SchemaVersionException(string message)
        : base(message)
    {
    }

    public SchemaVersionException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
