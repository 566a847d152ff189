// The pattern of JetSharp's compiled code, without JetSharp (docs/reliability.md, "Crashes of the background GC"):
// many collectible assemblies, each with a class whose [ThreadStatic] fields hold arrays (JetSharp's per-thread
// buffers), touched on thread-pool threads and on a thread that then exits, and dropped at once, while another thread
// keeps collecting. No unsafe code anywhere. Run (niced; a crash is exit code 139 and a `segfault … in libcoreclr.so`
// line in dmesg):
//   DOTNET_GCgen0size=0x100000 DOTNET_gcConcurrent=1 dotnet run -c Release -- 200 [mode]
// mode: "" (thread statics, as JetSharp emitted them until the fix), "threadlocal" (static ThreadLocal<double[]> fields
// instead, as JetSharp emits them now), "nots" (plain static fields); add "nocollect" for non-collectible assemblies,
// "nothreads" / "nopool" to leave out the exiting thread / the thread-pool pieces, "nogc" to leave out the collecting thread.
using System.Diagnostics;
using System.Reflection;
using System.Reflection.Emit;

internal static class Program
{
    private static bool s_threadStatic = true, s_threadLocal, s_collectible = true;

    private static int Main(string[] args)
    {
        double seconds = args.Length > 0 ? double.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 120;
        string mode = args.Length > 1 ? args[1] : "";
        s_threadLocal = mode.Contains("threadlocal");
        s_threadStatic = !s_threadLocal && !mode.Contains("nots");
        s_collectible = !mode.Contains("nocollect");
        bool exitingThread = !mode.Contains("nothreads"), pool = !mode.Contains("nopool"), collector = !mode.Contains("nogc");
        Console.WriteLine($"threadStatic={s_threadStatic} threadLocal={s_threadLocal} collectible={s_collectible} " +
                          $"exitingThread={exitingThread} pool={pool} collector={collector}");
        if (collector) new Thread(() => { while (true) { GC.Collect(); Thread.Sleep(1); } }) { IsBackground = true }.Start();
        var clock = Stopwatch.StartNew();
        long rounds = 0;
        while (clock.Elapsed.TotalSeconds < seconds)
        {
            var get = Make((int)rounds);
            if (pool) Parallel.For(0, 8, i => { get(64 + i)[0] += 1; GC.KeepAlive(new byte[100]); });
            if (exitingThread)
            {
                var thread = new Thread(() => get(32)[1] += 1);
                thread.Start();
                thread.Join();
            }
            if (!pool && !exitingThread) get(16)[0] += 1;
            rounds++;
            if (rounds % 2000 == 0) Console.WriteLine($"{clock.Elapsed.TotalSeconds:F0} s: {rounds} assemblies");
        }
        Console.WriteLine($"done: {rounds} assemblies in {clock.Elapsed.TotalSeconds:F0} s, no crash");
        return 0;
    }

    /// <summary>A new (collectible) assembly with a class of three per-thread buffers and <c>double[] Get(int n)</c>, which allocates them on a thread's first call.</summary>
    private static Func<int, double[]> Make(int id)
    {
        var assembly = AssemblyBuilder.DefineDynamicAssembly(new AssemblyName("stress" + id),
            s_collectible ? AssemblyBuilderAccess.RunAndCollect : AssemblyBuilderAccess.Run);
        var type = assembly.DefineDynamicModule("m").DefineType("C" + id,
            TypeAttributes.Public | TypeAttributes.Class | TypeAttributes.Abstract | TypeAttributes.Sealed);
        var method = type.DefineMethod("Get", MethodAttributes.Public | MethodAttributes.Static, typeof(double[]), [typeof(int)]);
        var il = method.GetILGenerator();
        if (s_threadLocal) EmitThreadLocal(type, il);
        else EmitStatic(type, il);
        return type.CreateType().GetMethod("Get").CreateDelegate<Func<int, double[]>>();
    }

    /// <summary>[ThreadStatic] (or, with "nots", plain) static double[] fields: <c>return (s0 ??= new double[n], s1 ??= …, s0)</c>.</summary>
    private static void EmitStatic(TypeBuilder type, ILGenerator il)
    {
        var fields = new FieldBuilder[3];
        for (int f = 0; f < fields.Length; f++)
        {
            fields[f] = type.DefineField("s_block" + f, typeof(double[]), FieldAttributes.Private | FieldAttributes.Static);
            if (s_threadStatic)
                fields[f].SetCustomAttribute(new CustomAttributeBuilder(typeof(ThreadStaticAttribute).GetConstructor(Type.EmptyTypes), []));
        }
        foreach (var f in fields)
        {
            var have = il.DefineLabel();
            il.Emit(OpCodes.Ldsfld, f);
            il.Emit(OpCodes.Brtrue_S, have);
            il.Emit(OpCodes.Ldarg_0);
            il.Emit(OpCodes.Newarr, typeof(double));
            il.Emit(OpCodes.Stsfld, f);
            il.MarkLabel(have);
        }
        il.Emit(OpCodes.Ldsfld, fields[0]);
        il.Emit(OpCodes.Ret);
    }

    /// <summary>static readonly ThreadLocal&lt;double[]&gt; fields: <c>return (s0.Value ??= new double[n], …, s0.Value)</c>.</summary>
    private static void EmitThreadLocal(TypeBuilder type, ILGenerator il)
    {
        var tl = typeof(ThreadLocal<double[]>);
        var fields = new FieldBuilder[3];
        var cctor = type.DefineTypeInitializer().GetILGenerator();
        for (int f = 0; f < fields.Length; f++)
        {
            fields[f] = type.DefineField("s_block" + f, tl, FieldAttributes.Private | FieldAttributes.Static | FieldAttributes.InitOnly);
            cctor.Emit(OpCodes.Newobj, tl.GetConstructor(Type.EmptyTypes));
            cctor.Emit(OpCodes.Stsfld, fields[f]);
        }
        cctor.Emit(OpCodes.Ret);
        var value = il.DeclareLocal(typeof(double[]));
        var first = il.DeclareLocal(typeof(double[]));
        for (int i = 0; i < fields.Length; i++)
        {
            var have = il.DefineLabel();
            il.Emit(OpCodes.Ldsfld, fields[i]);
            il.Emit(OpCodes.Callvirt, tl.GetProperty("Value").GetGetMethod());
            il.Emit(OpCodes.Stloc, value);
            il.Emit(OpCodes.Ldloc, value);
            il.Emit(OpCodes.Brtrue_S, have);
            il.Emit(OpCodes.Ldarg_0);
            il.Emit(OpCodes.Newarr, typeof(double));
            il.Emit(OpCodes.Stloc, value);
            il.Emit(OpCodes.Ldsfld, fields[i]);
            il.Emit(OpCodes.Ldloc, value);
            il.Emit(OpCodes.Callvirt, tl.GetProperty("Value").GetSetMethod());
            il.MarkLabel(have);
            if (i == 0)
            {
                il.Emit(OpCodes.Ldloc, value);
                il.Emit(OpCodes.Stloc, first);
            }
        }
        il.Emit(OpCodes.Ldloc, first);
        il.Emit(OpCodes.Ret);
    }
}
