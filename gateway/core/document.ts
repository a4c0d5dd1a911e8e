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

/** The gateway's own wire forms (schemas/README.md). */
export type WireFormat = 'xml' | 'json';
/** What partners send: the gateway's forms, UBL, or CSV catalogues (adapters/ubl, adapters/csv). */
export type InboundFormat = WireFormat | 'ubl' | 'csv';
/** What partners receive: the gateway's forms, or UBL where UBL has the document. */
export type OutboundFormat = WireFormat | 'ubl';
