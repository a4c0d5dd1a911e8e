export type Out = (text: string) => void;

export function printJson(out: Out, value: unknown): void {
  out(JSON.stringify(value, null, 2));
}

export function printPartner(out: Out, partner: Record<string, unknown>): void {
  const rows: [string, unknown][] = [
    ['id', partner.id],
    ['name', partner.name],
    ['roles', (partner.roles as string[]).join(', ')],
    ['status', partner.status],
    ['sends', partner.inboundFormat],
    ['receives', partner.format],
    ['delivery', partner.deliveryMode],
    ['endpoint', partner.endpointUrl ?? '-'],
    ...(typeof partner.endpointDisabledAt === 'string'
      ? [['endpoint off', `since ${partner.endpointDisabledAt} (410 Gone)`] as [string, string]]
      : []),
    ['signed requests', partner.requireSignedRequests ? 'required' : 'not required'],
    ['created', partner.createdAt],
  ];
  for (const [label, value] of rows) out(`${label.padEnd(16)} ${String(value)}`);
}

export function printTable(out: Out, header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  out(line(header));
  for (const row of rows) out(line(row));
}
