using Microsoft.Extensions.Logging;

namespace Orchestrator.Testing;

/// <summary>One captured line with the properties of the scopes open when it was written (outermost first).</summary>
public sealed record CapturedLog(LogLevel Level, string Category, string Message, IReadOnlyList<KeyValuePair<string, object?>> ScopeValues)
{
    /// <summary>The innermost scope value under <paramref name="key"/>, as text; null when no open scope had it.</summary>
    public string? Scope(string key) =>
        ScopeValues.LastOrDefault(p => p.Key == key) is { Key: not null } found ? found.Value?.ToString() : null;
}

/// <summary>A logger provider that keeps every formatted log line, for tests that assert on what a host says.</summary>
public sealed class LogCapture : ILoggerProvider, ISupportExternalScope
{
    private readonly List<(string Line, string Message, CapturedLog Entry)> _entries = [];
    private IExternalScopeProvider? _scopes;

    /// <summary>A snapshot of the lines so far ("Level Category: message"), in the order they were written.</summary>
    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_entries)
            {
                return [.. _entries.Select(e => e.Line)];
            }
        }
    }

    /// <summary>The formatted messages alone, without level and category.</summary>
    public IReadOnlyList<string> Messages
    {
        get
        {
            lock (_entries)
            {
                return [.. _entries.Select(e => e.Message)];
            }
        }
    }

    /// <summary>Every line with its level, category and scope properties.</summary>
    public IReadOnlyList<CapturedLog> Entries
    {
        get
        {
            lock (_entries)
            {
                return [.. _entries.Select(e => e.Entry)];
            }
        }
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    /// <summary>Called by the logger factory: scopes are kept there, shared by every provider.</summary>
    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    /// <summary>A typed logger writing here, for code that takes an <see cref="ILogger{T}"/> directly.</summary>
    public ILogger<T> CreateLogger<T>() => new Logger<T>(new CaptureFactory(this));

    public void Dispose()
    {
    }

    private void Add(string line, string message, CapturedLog entry)
    {
        lock (_entries)
        {
            _entries.Add((line, message, entry));
        }
    }

    private List<KeyValuePair<string, object?>> CurrentScopeValues()
    {
        var values = new List<KeyValuePair<string, object?>>();
        _scopes?.ForEachScope(
            static (scope, list) =>
            {
                // Structured scopes (message templates, ASP.NET Core's and ours) are lists of properties.
                if (scope is IEnumerable<KeyValuePair<string, object?>> properties)
                {
                    list.AddRange(properties);
                }
            },
            values);
        return values;
    }

    private sealed class Logger(LogCapture owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var message = formatter(state, exception);
            owner.Add(
                $"{logLevel} {category}: {message}{(exception is null ? "" : " | " + exception.GetType().Name + ": " + exception.Message)}",
                message,
                new CapturedLog(logLevel, category, message, owner.CurrentScopeValues()));
        }
    }

    private sealed class CaptureFactory(LogCapture owner) : ILoggerFactory
    {
        public ILogger CreateLogger(string categoryName) => owner.CreateLogger(categoryName);

        public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException("A capture writes to itself only.");

        public void Dispose()
        {
        }
    }
}
