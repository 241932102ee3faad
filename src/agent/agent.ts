export async function runAgent(): Promise<number> {
  process.stderr.write('replisync agent: not built yet\n');
  return 2;
}
