Console.WriteLine("jetsharp");
