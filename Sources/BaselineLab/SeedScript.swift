/// The PHP program `up` runs once to install and seed the site with WordPress's own functions
/// (`wp_install`, `wp_insert_user`, `wp_insert_post`, `media_handle_sideload`…): Debian has no
/// wp-cli, and going through WordPress rather than SQL gives the same rows the admin pages would.
/// Its one argument is a JSON file: site address, accounts, seed. Idempotent: an installed site
/// is left as it is.
enum SeedScript {
    static let php = #"""
<?php
$plan = json_decode(file_get_contents($argv[1]), true);
$_SERVER['HTTP_HOST'] = $plan['host'];
$_SERVER['REQUEST_URI'] = '/';
$_SERVER['WORDPRESS_CONFIG'] = $plan['config'];
define('WP_INSTALLING', true);
// The lab has no mail; WordPress's own notices would only fail slowly.
function wp_mail() { return true; }
require_once '/usr/share/wordpress/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
require_once ABSPATH . 'wp-admin/includes/image.php';
require_once ABSPATH . 'wp-admin/includes/file.php';
require_once ABSPATH . 'wp-admin/includes/media.php';

if (is_blog_installed()) { fwrite(STDERR, "seed: already installed\n"); echo json_encode(['installed' => false]); exit(0); }
mt_srand($plan['seed']);
$admin = $plan['admin'];
wp_install('Holon Baseline Journal', $admin['login'], $admin['login'] . '@baseline.lab', true, '', $admin['password']);
update_option('permalink_structure', '/%year%/%monthnum%/%postname%/');
update_option('posts_per_page', 5);
update_option('comment_moderation', 0);
update_option('comment_previously_approved', 1);
update_option('require_name_email', 1);
update_option('thread_comments', 1);
update_option('blogdescription', 'Notes on networks, gardens, kitchens and roads');
switch_theme('twentytwentyone');
flush_rewrite_rules(true);

$words = explode(' ', 'packet network garden kitchen river mountain signal window morning bread tomato route filter harbor lantern winter summer market engine bridge station letter forest meadow copper silver thunder quiet rapid gentle careful bright distant early late small large open narrow steady fresh old new under over across beyond through between the a of and to in for with on at by from is was are were has had will can');
function holon_words($n) { global $words; $o = []; for ($i = 0; $i < $n; $i++) $o[] = $words[mt_rand(0, count($words) - 1)]; return $o; }
function holon_sentence() { $w = holon_words(mt_rand(7, 18)); $w[0] = ucfirst($w[0]); return implode(' ', $w) . '.'; }
function holon_paragraph() { $s = []; for ($i = mt_rand(3, 7); $i > 0; $i--) $s[] = holon_sentence(); return implode(' ', $s); }
function holon_title() { return ucwords(implode(' ', holon_words(mt_rand(3, 6)))); }
function holon_image($path, $w, $h) {
    $im = imagecreatetruecolor($w, $h);
    $a = [mt_rand(0, 255), mt_rand(0, 255), mt_rand(0, 255)]; $b = [mt_rand(0, 255), mt_rand(0, 255), mt_rand(0, 255)];
    for ($y = 0; $y < $h; $y++) {
        $t = $y / $h;
        $c = imagecolorallocate($im, (int)($a[0] * (1 - $t) + $b[0] * $t), (int)($a[1] * (1 - $t) + $b[1] * $t), (int)($a[2] * (1 - $t) + $b[2] * $t));
        imageline($im, 0, $y, $w, $y, $c);
    }
    for ($i = 0; $i < 40; $i++) {
        $c = imagecolorallocatealpha($im, mt_rand(0, 255), mt_rand(0, 255), mt_rand(0, 255), mt_rand(20, 90));
        imagefilledellipse($im, mt_rand(0, $w), mt_rand(0, $h), mt_rand(20, $w / 3), mt_rand(20, $h / 3), $c);
    }
    // Noise, so that the JPEG is as heavy as a photograph rather than a flat gradient.
    for ($i = 0; $i < $w * $h / 6; $i++) imagesetpixel($im, mt_rand(0, $w - 1), mt_rand(0, $h - 1), imagecolorallocate($im, mt_rand(0, 255), mt_rand(0, 255), mt_rand(0, 255)));
    imagejpeg($im, $path, 85);
    imagedestroy($im);
}

$ids = ['editor' => [], 'subscriber' => []];
foreach ($plan['accounts'] as $a) {
    $id = wp_insert_user(['user_login' => $a['login'], 'user_pass' => $a['password'], 'user_email' => $a['login'] . '@baseline.lab',
                          'display_name' => $a['displayName'], 'role' => $a['role']]);
    if (is_wp_error($id)) { fwrite(STDERR, 'seed: user ' . $a['login'] . ': ' . $id->get_error_message() . "\n"); exit(1); }
    $ids[$a['role']][] = $id;
}
$cats = [];
foreach (['Networks', 'Gardens', 'Kitchens', 'Roads', 'Letters', 'Workshops'] as $name) {
    $t = wp_insert_term($name, 'category');
    $cats[] = $t['term_id'];
}
$images = [];
for ($i = 0; $i < 12; $i++) {
    $tmp = wp_tempnam('holon-image.jpg');
    holon_image($tmp, 1200, 800);
    $file = ['name' => "scene-$i.jpg", 'tmp_name' => $tmp];
    $id = media_handle_sideload($file, 0, holon_title());
    if (is_wp_error($id)) { fwrite(STDERR, 'seed: image: ' . $id->get_error_message() . "\n"); exit(1); }
    $images[] = $id;
}
$authors = array_merge([1], $ids['editor']);
$posts = [];
for ($i = 0; $i < 36; $i++) {
    $body = '';
    for ($p = mt_rand(3, 8); $p > 0; $p--) $body .= '<!-- wp:paragraph --><p>' . holon_paragraph() . "</p><!-- /wp:paragraph -->\n";
    if ($i % 3 == 0) {
        $img = $images[$i % count($images)];
        $body .= '<!-- wp:image --><figure class="wp-block-image"><img src="' . wp_get_attachment_image_url($img, 'large') . '" alt=""/></figure><!-- /wp:image -->' . "\n";
    }
    $when = date('Y-m-d H:i:s', time() - (36 - $i) * 86400 - mt_rand(0, 80000));
    $id = wp_insert_post(['post_title' => holon_title(), 'post_content' => $body, 'post_status' => 'publish',
                          'post_author' => $authors[$i % count($authors)], 'post_category' => [$cats[$i % count($cats)], $cats[mt_rand(0, count($cats) - 1)]],
                          'tags_input' => holon_words(3), 'post_date' => $when]);
    if ($i % 2 == 0) set_post_thumbnail($id, $images[$i % count($images)]);
    $posts[] = $id;
}
foreach (['About', 'Contact', 'Reading list', 'Archive notes', 'Colophon', 'Workshops calendar'] as $title) {
    $body = '<!-- wp:paragraph --><p>' . holon_paragraph() . '</p><!-- /wp:paragraph --><!-- wp:paragraph --><p>' . holon_paragraph() . '</p><!-- /wp:paragraph -->';
    wp_insert_post(['post_title' => $title, 'post_content' => $body, 'post_status' => 'publish', 'post_type' => 'page', 'post_author' => 1]);
}
$comments = 0;
foreach ($posts as $pid) {
    for ($c = mt_rand(0, 5); $c > 0; $c--) {
        $uid = $ids['subscriber'][mt_rand(0, count($ids['subscriber']) - 1)];
        $u = get_userdata($uid);
        wp_insert_comment(['comment_post_ID' => $pid, 'comment_content' => holon_sentence() . ' ' . holon_sentence(),
                           'user_id' => $uid, 'comment_author' => $u->display_name, 'comment_author_email' => $u->user_email,
                           'comment_approved' => mt_rand(0, 9) < 8 ? 1 : 0, 'comment_author_IP' => '10.77.0.' . mt_rand(101, 123)]);
        $comments++;
    }
}
echo json_encode(['installed' => true, 'posts' => count($posts), 'pages' => 6, 'images' => count($images),
                  'categories' => count($cats), 'comments' => $comments, 'editors' => count($ids['editor']),
                  'subscribers' => count($ids['subscriber'])]);
"""#
}
