import sanitizeHtml from 'sanitize-html';

/** Inline images a message may carry, by Content-ID; SVG is not among them (it can hold script). */
const INLINE_IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

export interface InlineImage {
  /** Content-ID without angle brackets. */
  contentId: string;
  mimeType: string;
  content: Buffer;
}

const TAGS = [
  ...['p', 'br', 'div', 'span', 'b', 'strong', 'i', 'em', 'u', 's', 'strike', 'sub', 'sup', 'small', 'big', 'font', 'center'],
  ...['blockquote', 'pre', 'code', 'hr', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'ul', 'ol', 'li', 'dl', 'dt', 'dd', 'a', 'img'],
  ...['table', 'thead', 'tbody', 'tfoot', 'tr', 'th', 'td', 'caption', 'colgroup', 'col'],
];

/** A style value that cannot fetch or compute anything: no url(), image-set(), expression() or escapes. */
const PLAIN_VALUE = [/^(?!.*(?:url|image|expression|attr|var)\s*\()(?!.*[\\@<>]).{0,200}$/i];
const STYLE_PROPERTIES = [
  ...['color', 'background-color', 'font-family', 'font-size', 'font-style', 'font-weight', 'line-height', 'letter-spacing'],
  ...['text-align', 'text-decoration', 'text-transform', 'white-space', 'vertical-align', 'width', 'max-width', 'height'],
  ...['margin', 'margin-top', 'margin-right', 'margin-bottom', 'margin-left', 'padding', 'padding-top', 'padding-right', 'padding-bottom', 'padding-left'],
  ...['border', 'border-top', 'border-right', 'border-bottom', 'border-left', 'border-color', 'border-style', 'border-width', 'border-collapse'],
];

/**
 * The message's HTML reduced to formatting: no script, style sheet, form, frame, object or
 * event handler survives; links are http(s) or mailto and open outside the frame without an
 * opener; images only as data: URIs (Content-ID references are resolved to them first), so a
 * remote image cannot tell the sender, or anyone, that and where the message was read. The
 * frame it is shown in adds a sandbox and a CSP on top: this is the first of two walls.
 */
export function sanitizeMessageHtml(input: string, inline: InlineImage[]): { html: string; usedContentIds: Set<string>; remoteImagesBlocked: number } {
  const usedContentIds = new Set<string>();
  let remoteImagesBlocked = 0;
  const images = new Map(inline.filter((i) => INLINE_IMAGE_TYPES.has(i.mimeType)).map((i) => [i.contentId.toLowerCase(), i]));
  const html = sanitizeHtml(input, {
    allowedTags: TAGS,
    allowedAttributes: {
      a: ['href', 'title', 'rel', 'target'],
      img: ['src', 'alt', 'title', 'width', 'height'],
      font: ['color', 'size', 'face'],
      td: ['colspan', 'rowspan', 'align', 'valign', 'width'],
      th: ['colspan', 'rowspan', 'align', 'valign', 'width'],
      table: ['width', 'cellpadding', 'cellspacing', 'border', 'align'],
      '*': ['style', 'align', 'dir', 'lang'],
    },
    allowedStyles: { '*': Object.fromEntries(STYLE_PROPERTIES.map((p) => [p, PLAIN_VALUE])) },
    allowedSchemes: ['http', 'https', 'mailto'],
    allowedSchemesByTag: { img: ['data'] },
    allowProtocolRelative: false,
    disallowedTagsMode: 'discard',
    // Discarded with their text: what a script or style says is not message text.
    nonTextTags: ['script', 'style', 'textarea', 'option', 'noscript', 'title', 'head', 'template', 'iframe', 'object'],
    transformTags: {
      a: (tagName, attribs) => ({ tagName, attribs: { ...attribs, rel: 'noopener noreferrer', target: '_blank' } }),
      img: (tagName, attribs) => {
        const src = attribs.src ?? '';
        const cid = /^cid:(.+)$/i.exec(src.trim())?.[1];
        const image = cid ? images.get(decodeURIComponent(cid).toLowerCase()) : undefined;
        if (cid && image) usedContentIds.add(image.contentId.toLowerCase());
        const resolved = image ? `data:${image.mimeType};base64,${image.content.toString('base64')}` : src;
        // Counted for the notice the page shows: a remote image is what a tracking pixel is.
        if (/^\s*(?:https?:)?\/\//i.test(src)) remoteImagesBlocked++;
        return { tagName, attribs: { ...attribs, src: /^data:image\/(png|jpeg|gif|webp);base64,/i.test(resolved) ? resolved : '' } };
      },
    },
    // A remote or unknown image leaves no empty box behind.
    exclusiveFilter: (frame) => frame.tag === 'img' && !frame.attribs.src,
  });
  return { html, usedContentIds, remoteImagesBlocked };
}
