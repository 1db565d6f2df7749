// Marp CLI settings for the workshop deck (used by slides.mk).
//
// Two small markdown-it rules make the rendered deck stand alone:
// - a local SVG named in ![...](img/x.svg) is embedded as a data: URI,
//   so the HTML file can be mailed or opened anywhere, and the PDF
//   needs no --allow-local-files;
// - the `<!-- code: ... -->` comments that tie a code block to its
//   source region (see snippets.sh), and the `<!-- bench: ... -->` and
//   `<!-- figures: ... -->` ones that tie figures to bench/ (see
//   figures.sh), are not speaker notes.
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))

function embedLocalSvg(md) {
  md.inline.ruler2.before('marpit_parse_image', 'workshop_svg', (state) => {
    for (const token of state.tokens) {
      if (token.type !== 'image') continue
      const src = token.attrGet('src')
      if (!src || !/^[\w./-]+\.svg$/.test(src) || src.includes('..'))
        continue
      const svg = readFileSync(join(here, src))
      token.attrSet(
        'src',
        'data:image/svg+xml;base64,' + svg.toString('base64'),
      )
    }
  })
}

function markersAreNotNotes(md) {
  md.core.ruler.before('marpit_collect', 'workshop_markers', (state) => {
    for (const token of state.tokens) {
      if (
        token.type === 'marpit_comment' &&
        /^(code|bench|figures):/.test(token.content)
      ) {
        token.meta = token.meta || {}
        token.meta.marpitCommentParsed = 'workshop-code-marker'
      }
    }
  })
}

export default {
  themeSet: [join(here, 'theme.css')],
  lang: 'en',
  html: false,
  allowLocalFiles: false,
  options: {
    emoji: { shortcode: false, unicode: false }, // no CDN images
    math: false,
    minifyCSS: false,
  },
  engine: ({ marp }) => marp.use(embedLocalSvg).use(markersAreNotNotes),
}
