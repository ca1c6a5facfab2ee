using Microsoft.Extensions.Logging;

namespace Orchestrator.Testing;

/// <summary>A logger provider that keeps every formatted log line, for tests that assert on what a host says.</summary>
public sealed class LogCapture : ILoggerProvider
{
    private readonly List<(string Line, string Message)> _entries = [];

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

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    /// <summary>A typed logger writing here, for code that takes an <see cref="ILogger{T}"/> directly.</summary>
    public ILogger<T> CreateLogger<T>() => new Logger<T>(new CaptureFactory(this));

    public void Dispose()
    {
    }

    private void Add(string line, string message)
    {
        lock (_entries)
        {
            _entries.Add((line, message));
        }
    }

    private sealed class Logger(LogCapture owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var message = formatter(state, exception);
            owner.Add($"{logLevel} {category}: {message}{(exception is null ? "" : " | " + exception.GetType().Name + ": " + exception.Message)}", message);
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
