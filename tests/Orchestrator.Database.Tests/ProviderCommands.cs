using System.Data;
using System.Data.Common;
using System.Globalization;
using Npgsql;

namespace Orchestrator.Database.Tests;

/// <summary>
/// Runs the stored OrleansQuery texts the way the Orleans 10.4.2 ADO.NET providers do: the text is read
/// from the table by key, parameters are added by name with the DbType the providers' DbExtensions pick
/// for the CLR type (AnsiString for Address and GrainId), and columns are found by their PascalCase names.
/// </summary>
public sealed class ProviderCommands(string connectionString)
{
    // A session time zone far from UTC makes any timestamp/timestamptz confusion visible.
    private readonly string _connectionString = new NpgsqlConnectionStringBuilder(connectionString) { Timezone = "Pacific/Chatham" }.ConnectionString;

    public async Task<string> QueryTextAsync(string key)
    {
        await using var connection = await OpenAsync();
        await using var command = new NpgsqlCommand("select querytext from orleansquery where querykey = @key", connection);
        command.Parameters.AddWithValue("key", key);
        return (string?)await command.ExecuteScalarAsync() ?? throw new InvalidOperationException($"No OrleansQuery row '{key}'.");
    }

    public async Task<List<T>> ReadAsync<T>(string key, Func<DbDataReader, T> selector, params ProviderParameter[] parameters)
    {
        var text = await QueryTextAsync(key);
        await using var connection = await OpenAsync();
        await using var command = CreateCommand(connection, text, parameters);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<T>();
        do
        {
            while (await reader.ReadAsync())
            {
                rows.Add(selector(reader));
            }
        }
        while (await reader.NextResultAsync());

        return rows;
    }

    public async Task ExecuteAsync(string key, params ProviderParameter[] parameters)
    {
        var text = await QueryTextAsync(key);
        await using var connection = await OpenAsync();
        await using var command = CreateCommand(connection, text, parameters);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>The providers' GetSingleBooleanValue: exactly one column, converted to bool.</summary>
    public async Task<bool> ReadSingleBooleanAsync(string key, params ProviderParameter[] parameters)
    {
        var values = await ReadAsync(key, record =>
        {
            Assert.Equal(1, record.FieldCount);
            return Convert.ToBoolean(record.GetValue(0), CultureInfo.InvariantCulture);
        }, parameters);
        return Assert.Single(values);
    }

    public async Task<T?> ScalarAsync<T>(string sql)
    {
        await using var connection = await OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        var value = await command.ExecuteScalarAsync();
        return value is null or DBNull ? default : (T)value;
    }

    private async Task<NpgsqlConnection> OpenAsync()
    {
        var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        return connection;
    }

    private static NpgsqlCommand CreateCommand(NpgsqlConnection connection, string text, ProviderParameter[] parameters)
    {
        var command = new NpgsqlCommand(text, connection);
        foreach (var parameter in parameters)
        {
            // As the providers do: only the name, value and DbType are set, never NpgsqlDbType.
            var dbParameter = command.CreateParameter();
            dbParameter.ParameterName = parameter.Name;
            dbParameter.Value = parameter.Value ?? DBNull.Value;
            dbParameter.DbType = parameter.DbType;
            command.Parameters.Add(dbParameter);
        }

        return command;
    }
}

/// <summary>A parameter as the providers bind it: the DbType follows the CLR type, as in their DbExtensions.</summary>
public sealed record ProviderParameter(string Name, object? Value, DbType DbType)
{
    public static ProviderParameter For(string name, string? value) => new(name, value, DbType.String);

    public static ProviderParameter For(string name, int value) => new(name, value, DbType.Int32);

    public static ProviderParameter For(string name, int? value) => new(name, value, DbType.Int32);

    public static ProviderParameter For(string name, long value) => new(name, value, DbType.Int64);

    public static ProviderParameter For(string name, DateTime value) => new(name, value, DbType.DateTime);

    public static ProviderParameter For(string name, byte[] value) => new(name, value, DbType.Binary);

    /// <summary>Address and GrainId are bound as AnsiString.</summary>
    public static ProviderParameter Ansi(string name, string value) => new(name, value, DbType.AnsiString);
}
