/// The JavaScript agents run in the page (as a function body; `arguments` are the script's args).
enum Scripts {
    /// Where the page is and whether it loaded: the navigation entry's status where the engine
    /// reports it (0 where it does not), error pages, body classes WordPress sets.
    static let pageInfo = """
    var n = performance.getEntriesByType('navigation')[0];
    var doc = document.documentURI || '';
    var cls = document.body ? document.body.classList : { contains: function () { return false; } };
    return { url: location.href, title: document.title,
             status: (n && n.responseStatus) ? n.responseStatus : 0,
             error: location.href === 'about:blank' || location.protocol === 'chrome-error:' || doc.indexOf('about:neterror') === 0 || doc.indexOf('about:certerror') === 0,
             post: cls.contains('single-post'), loggedIn: cls.contains('logged-in') };
    """

    static func links(_ selector: String) -> String {
        """
        return Array.from(document.querySelectorAll('\(selector)'))
          .filter(function (a) { return a.host === location.host && a.offsetParent !== null
                  && a.href.split('#')[0] !== location.href.split('#')[0]
                  && !/wp-admin|wp-login|logout|replytocom|wp-json|xmlrpc|\\/feed|#/.test(a.href); })
          .map(function (a) { return { e: a, t: a.textContent.trim() }; });
        """
    }

    static let postLinks = links(".entry-title a, .wp-block-latest-posts a, .widget_recent_entries a, .wp-block-latest-posts__post-title")
    static let siteLinks = links("main a[href], nav a[href], footer a[href], .widget-area a[href]")
    static let nextPage = links(".nav-links a.next, a.next.page-numbers, .nav-previous a, .pagination a")
    static let categoryLinks = links("a[rel~=category], .wp-block-categories a, .widget_categories a, .cat-links a, .wp-block-tag-cloud a, .tags-links a")

    static let editorReady = """
    return !!(window.wp && wp.data && wp.blocks && wp.data.select('core/editor') && wp.data.select('core/editor').getCurrentPostId());
    """

    /// Publishes a post with the newest image as its picture and featured image; the outcome is
    /// left in `window.__holonPublish` ("saved:<link>" or "error:<why>") for the agent to poll.
    static let publish = """
    var title = arguments[0], paragraphs = arguments[1];
    window.__holonPublish = '';
    wp.apiFetch({ path: '/wp/v2/media?per_page=1&orderby=date&order=desc' }).then(function (media) {
      var html = paragraphs.map(function (p) { return '<!-- wp:paragraph --><p>' + p + '</p><!-- /wp:paragraph -->'; }).join('');
      var featured = 0;
      if (media.length) {
        featured = media[0].id;
        html = '<!-- wp:image {"id":' + featured + '} --><figure class="wp-block-image"><img src="' + media[0].source_url
             + '" class="wp-image-' + featured + '"/></figure><!-- /wp:image -->' + html;
      }
      wp.data.dispatch('core/editor').resetEditorBlocks(wp.blocks.parse(html));
      wp.data.dispatch('core/editor').editPost({ title: title, status: 'publish', featured_media: featured });
      return wp.data.dispatch('core/editor').savePost();
    }).then(function () {
      var post = wp.data.select('core/editor').getCurrentPost();
      window.__holonPublish = 'saved:' + post.link;
    }).catch(function (e) { window.__holonPublish = 'error:' + (e && e.message ? e.message : e); });
    return true;
    """

    /// Clicks up to `arguments[0]` "Approve" links of the comment queue; how many it clicked.
    static let approve = """
    var links = Array.from(document.querySelectorAll('tr.unapproved .approve a')).slice(0, arguments[0]);
    links.forEach(function (a) { a.click(); });
    return links.length;
    """
}
