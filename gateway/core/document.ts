/**
 * The canonical form of every business document, whatever wire form it arrived in
 * (see schemas/README.md). The core only ever sees this shape.
 */

export interface DocumentHeader {
  messageId: string;
  type: string;
  sender: string;
  sentAt: string;
  recipient?: string;
  inReplyTo?: string;
}

export interface CanonicalDocument {
  header: DocumentHeader;
  body: Record<string, unknown>;
}

export type WireFormat = 'xml' | 'json';
